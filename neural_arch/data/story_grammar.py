"""The probabilistic grammar behind the synthetic TinyStories corpus.

A story is: an introduction, up to two background sentences, one problem episode with its cause
and its resolution, sometimes a second episode or a closing line, then ``<eos>``:

    Once upon a time , there was a brave dog named Max . He had a friend named Lily .
    One day , Max was sad because he lost his red ball . Then he found it under the bed and he
    was happy again . <eos>

What makes it worth learning (and what a unigram model cannot see):

* agreement over distance -- the name, the pronoun (he / she) and "his" / "her" must stay
  consistent with the character introduced at the start;
* cause and effect -- the emotion picks its cause ("scared because he heard a loud noise"), and
  the cause picks its resolution ("Then he saw that it was just the wind");
* copying -- a lost or broken toy is usually the one the character liked to play with, and a
  friend named in the background is the one who comes back later.

Every decision goes through ``StoryWriter.choose`` so the exact probability of each token is
known (see ``story_writer.py``).  Lengths are bounded: each block has a maximum token count,
checked on every block written, and a block is only offered when it still fits in the row, so a
story never has to be cut (cutting would change the distribution).  The offer depends only on
the length written so far, which is part of the prefix, so the probabilities stay exact.
"""

from __future__ import annotations

from .story_writer import StoryWriter

BOYS = ["Tom", "Ben", "Max", "Sam", "Leo", "Jack"]
GIRLS = ["Lily", "Mia", "Anna", "Sue", "Emma", "Zoe"]
KINDS = {"boy": BOYS, "girl": GIRLS, "dog": BOYS + GIRLS, "cat": BOYS + GIRLS,
         "bird": BOYS + GIRLS, "bunny": BOYS + GIRLS, "bear": BOYS + GIRLS, "frog": BOYS + GIRLS}
TRAITS = ["little", "small", "happy", "kind", "brave", "shy", "funny", "curious", "good", "sweet"]
TOYS = ["ball", "kite", "doll", "train", "boat", "hat", "book", "drum", "car", "robot"]
COLOURS = ["red", "blue", "green", "yellow", "pink"]
HOMES = ["in a small house", "near the park", "by the river", "in a big town", "on a farm",
         "near the woods", "by the sea"]
FOODS = ["apples", "cake", "cookies", "carrots", "soup", "bread"]
HIDING_PLACES = ["under the bed", "in the garden", "in the park", "behind the door",
                 "by the tree", "in the kitchen", "under a rock", "in the box"]
BIG_ANIMALS = ["dog", "bear", "cow", "goat", "snake"]
HELPERS = ["mom", "dad", "grandma", "grandpa"]
OPENERS = {"Once upon a time , there was a": 5, "There was a": 3, "Long ago , there was a": 2}
LATER = {"The next day ,": 2, "Later that day ,": 1, "After that ,": 1}
EMOTIONS = {"sad": 4, "scared": 3, "angry": 2, "happy": 2}

# Maximum tokens of each block.  Every block written is checked against its bound, so a wrong
# number here fails loudly instead of letting a story overflow its row.
MAX_TOKENS = {"intro": 13, "background": 9, "episode": 27, "closing": 6}
# Shortest row that always holds a story: <bos>, intro, one episode, <eos>.
MIN_STORY_TOKENS = 1 + MAX_TOKENS["intro"] + MAX_TOKENS["episode"] + 1

# Words written by the templates below (the tables above add the rest).
_TEMPLATE_WORDS = """<bos> <eos> named . , He She he she his her him lived had a friend liked to
    play with run in the park read books sing songs draw pictures eat One day was because lost
    broke heard loud noise saw big it dark took cat bird got new rainbow birthday raining Then
    found and happy again helped fix came back they played all went away that just wind ran felt
    safe turned on light asked for help gave said sorry sun out outside sky blue told about cake
    friends smiled learned be careful"""


def grammar_words() -> list[str]:
    """Every word the grammar can write, sorted (the corpus vocabulary, without <pad>/<unk>)."""
    words = set(_TEMPLATE_WORDS.split())
    for table in (BOYS, GIRLS, KINDS, TRAITS, TOYS, COLOURS, HOMES, FOODS, HIDING_PLACES,
                  BIG_ANIMALS, HELPERS, OPENERS, LATER, EMOTIONS):
        for phrase in table:
            words.update(phrase.split())
    return sorted(words)


class _Hero:
    """What the rest of the story must remember about its main character."""

    def __init__(self, name: str, girl: bool):
        self.name = name
        self.he, self.He = ("she", "She") if girl else ("he", "He")
        self.his = "her" if girl else "his"
        self.him = "her" if girl else "him"
        self.toy: str | None = None      # favourite toy, once the story has named it
        self.friend: str | None = None   # friend's name, once the story has named one


def _uniform(items) -> dict[str, float]:
    return {item: 1.0 for item in items}


def _toy_options() -> dict[str, float]:
    """A toy with or without a colour: "ball", "red ball", ... (prefix-free)."""
    options = {toy: 2.0 for toy in TOYS}
    options.update({f"{colour} {toy}": 1.0 for colour in COLOURS for toy in TOYS})
    return options


def _intro(w: StoryWriter) -> _Hero:
    w.choose(OPENERS)
    w.choose(_uniform(TRAITS))
    kind = w.choose(_uniform(KINDS))
    w.say("named")
    name = w.choose(_uniform(KINDS[kind]))
    w.say(".")
    return _Hero(name, girl=name in GIRLS)


def _background(w: StoryWriter, hero: _Hero, opener: str) -> None:
    """The rest of a background sentence whose first words ``opener`` are already written."""
    if opener.endswith("lived"):
        w.choose(_uniform(HOMES))
    elif opener.endswith("had a friend named"):
        hero.friend = w.choose(_uniform(n for n in BOYS + GIRLS if n != hero.name))
    else:  # "... liked to"
        activity = w.choose({"play with": 4, "run in the park": 1, "read books": 1,
                             "sing songs": 1, "draw pictures": 1, "eat": 2})
        if activity == "play with":
            w.say(hero.his)
            hero.toy = w.choose(_toy_options())
        elif activity == "eat":
            w.choose(_uniform(FOODS))
    w.say(".")


def _problem_object(w: StoryWriter, hero: _Hero) -> str:
    """The toy a problem is about: 3 times in 4 the favourite one, if the story named it."""
    options = _toy_options()
    if hero.toy is not None:
        options[hero.toy] += 3 * sum(options.values())
    return w.choose(options)


def _episode(w: StoryWriter, hero: _Hero) -> None:
    """Emotion, its cause, and the cause's resolution (the opener is already written)."""
    he, his = hero.he, hero.his
    w.say(f"{hero.name} was")
    emotion = w.choose(EMOTIONS)
    w.say("because")
    if emotion == "sad":
        causes = {f"{he} lost {his}": 3, f"{he} broke {his}": 2, "it was raining": 1}
        if hero.friend is not None:
            causes[f"{hero.friend} went away"] = 2
    elif emotion == "scared":
        causes = {f"{he} heard a loud noise": 1, f"{he} saw a big": 1, "it was dark": 1}
    elif emotion == "angry":
        causes = {f"a cat took {his}": 1, f"a bird took {his}": 1}
        if hero.friend is not None:
            causes[f"{hero.friend} took {his}"] = 2
    else:
        causes = {f"{he} got a new": 2, f"{he} saw a rainbow": 1, f"it was {his} birthday": 1}
    cause = w.choose(causes)
    if cause.endswith((f"lost {his}", f"broke {his}", f"took {his}")):
        _problem_object(w, hero)
    elif cause.endswith("got a new"):
        w.choose(_toy_options())
    elif cause.endswith("saw a big"):
        w.choose(_uniform(BIG_ANIMALS))
    w.say(".")
    _resolution(w, hero, cause)


def _resolution(w: StoryWriter, hero: _Hero, cause: str) -> None:
    """The sentence that resolves ``cause``; mostly fixed by it, with a few free slots."""
    he, He, his = hero.he, hero.He, hero.his
    if " lost " in cause:
        w.say(f"Then {he} found it")
        w.choose(_uniform(HIDING_PLACES))
        w.say(f"and {he} was happy again .")
    elif " broke " in cause:
        w.say(f"Then {his}")
        w.choose(_uniform(HELPERS))
        w.say(f"helped {hero.him} fix it .")
    elif cause == "it was raining":
        w.say("Then the sun came out and")
        w.choose({f"{he} went outside .": 1, "the sky was blue .": 1})
    elif cause.endswith("went away"):
        w.say(f"Then {hero.friend} came back and they played all day .")
    elif cause.endswith("loud noise"):
        w.say(f"Then {he} saw that it was just")
        w.choose({"the wind": 2, "a cat": 1, "a bird": 1})
        w.say(".")
    elif cause.endswith("saw a big"):
        w.say(f"Then it ran away and {he} felt safe .")
    elif cause == "it was dark":
        w.say(f"Then {his}")
        w.choose(_uniform(HELPERS))
        w.say("turned on the light .")
    elif cause.startswith(("a cat took", "a bird took")):
        w.say(f"Then {he} asked {his}")
        w.choose(_uniform(HELPERS))
        w.say("for help .")
    elif " took " in cause:
        w.say(f"Then {hero.friend} gave it back and said sorry .")
    elif cause.endswith("got a new"):
        w.say(f"{He} played with it all day .")
    elif cause.endswith("rainbow"):
        w.say(f"{He} told {his}")
        w.choose(_uniform(HELPERS))
        w.say("about it .")
    else:  # birthday
        w.say(f"{He} had cake with {his} friends .")


def _checked_block(w: StoryWriter, block: str, start: int) -> None:
    """Raise if the block just written is longer than its declared maximum."""
    if len(w) - start > MAX_TOKENS[block]:
        raise RuntimeError(f"story grammar bug: a {block} block wrote {len(w) - start} tokens, "
                           f"more than MAX_TOKENS[{block!r}] = {MAX_TOKENS[block]}")


def write_story(w: StoryWriter, max_tokens: int) -> None:
    """Write one story, ``<bos>`` through ``<eos>``, of at most ``max_tokens`` tokens, into ``w``.

    Each block is chosen by its first words, so the choice is visible in the text (rule 1 of
    ``story_writer``).  A block is offered only if it fits together with whatever must follow
    it: the first episode and ``<eos>``.
    """
    if max_tokens < MIN_STORY_TOKENS:
        raise ValueError(f"a story needs rows of at least {MIN_STORY_TOKENS} tokens, "
                         f"got {max_tokens}")
    w.say("<bos>")
    start = len(w)
    hero = _intro(w)
    _checked_block(w, "intro", start)

    def fits(block: str, then: int) -> bool:
        return len(w) + MAX_TOKENS[block] + then <= max_tokens

    # Background sentences (each kind at most once) until the first episode begins.
    backgrounds = {f"{hero.He} liked to": 2.0, f"{hero.He} had a friend named": 1.0,
                   f"{hero.He} lived": 1.0}
    while True:
        options = {"One day ,": 2.0}
        if fits("background", MAX_TOKENS["episode"] + 1):
            options.update(backgrounds)
        start = len(w)
        opener = w.choose(options)
        if opener == "One day ,":
            break
        del backgrounds[opener]
        _background(w, hero, opener)
        _checked_block(w, "background", start)
    _episode(w, hero)
    _checked_block(w, "episode", start)

    # After the first episode: stop, tell another episode, or close with one line.
    closed = False
    while True:
        options = {"<eos>": 3.0}
        if not closed and fits("episode", 1):
            options.update(LATER)
        if not closed and fits("closing", 1):
            options.update({f"{hero.name} smiled .": 1.0, f"{hero.name} was happy .": 1.0,
                            f"{hero.name} learned to be careful .": 1.0})
        start = len(w)
        choice = w.choose(options)
        if choice == "<eos>":
            return
        if choice in LATER:
            _episode(w, hero)
            _checked_block(w, "episode", start)
        else:
            _checked_block(w, "closing", start)
            closed = True
