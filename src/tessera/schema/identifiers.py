"""Code lists for personal identifiers, shared by synthesis and record linkage.

Synthesis uses them to inject realistic errors (a nickname instead of the registered name, a
spelling that sounds the same); linkage uses the same lists to normalise those errors away.
Keeping one copy here means the two can never drift apart.
"""

from __future__ import annotations

from typing import Final

from tessera.schema.tables import IDENTIFIERS

# The identifying columns every source table carries (a pseudonym only where one is issued).
IDENTIFIER_COLUMNS: Final = tuple(c.name for c in IDENTIFIERS if c.name != "pseudonym")

# Formal (registered) given name -> nicknames and short forms in everyday use. People born
# 1930-1970 are registered under the formal name but known to their GP by the short one.
NICKNAMES: Final[dict[str, tuple[str, ...]]] = {
    # Dutch, male
    "Johannes": ("Jan", "Hans", "Joop", "Johan"),
    "Cornelis": ("Kees", "Cor"),
    "Hendrik": ("Henk", "Henny"),
    "Hendrikus": ("Henk", "Harry", "Rikus"),
    "Wilhelmus": ("Wim", "Willem"),
    "Jacobus": ("Jaap", "Koos"),
    "Jacob": ("Jaap", "Koos"),
    "Petrus": ("Piet", "Peter"),
    "Pieter": ("Piet", "Peter"),
    "Gerardus": ("Gerard", "Gert"),
    "Gerrit": ("Gert", "Gerard"),
    "Adrianus": ("Arie", "Adrie"),
    "Antonius": ("Toon", "Ton", "Anton"),
    "Franciscus": ("Frans",),
    "Theodorus": ("Theo",),
    "Nicolaas": ("Klaas", "Niek", "Nico"),
    "Albertus": ("Bert", "Ab"),
    "Bernardus": ("Ben", "Bernard"),
    "Martinus": ("Martin", "Tinus"),
    "Hermanus": ("Herman",),
    "Lambertus": ("Bert",),
    "Leendert": ("Leen",),
    "Marinus": ("Rinus", "Marien"),
    "Josephus": ("Jos", "Joop", "Sjef"),
    "Paulus": ("Paul",),
    # Dutch, female
    "Elisabeth": ("Els", "Lies", "Liesbeth", "Betty"),
    "Margaretha": ("Greet", "Margriet", "Grietje"),
    "Johanna": ("Jo", "Anneke", "Hanneke"),
    "Maria": ("Marie", "Mies", "Ria", "Marieke"),
    "Wilhelmina": ("Mien", "Wil", "Willy"),
    "Hendrika": ("Riek", "Rika"),
    "Catharina": ("Toos", "Karin", "Tineke"),
    "Cornelia": ("Cor", "Corrie", "Nel"),
    "Adriana": ("Adrie", "Jaan", "Ria"),
    "Jacoba": ("Coby", "Co", "Koosje"),
    "Petronella": ("Nel", "Nelly", "Pietje"),
    "Geertruida": ("Truus", "Trudy", "Geertje"),
    "Gerarda": ("Gerda",),
    "Helena": ("Lena", "Leny"),
    "Christina": ("Stien", "Tina"),
    "Anna": ("Annie", "Anneke"),
    "Theodora": ("Dora", "Door"),
    "Francisca": ("Cisca", "Sjaan"),
    "Alida": ("Ali", "Lida"),
    # German
    "Friedrich": ("Fritz",),
    "Heinrich": ("Heinz",),
    "Johann": ("Hans",),
    "Wolfgang": ("Wolf",),
    "Josef": ("Sepp",),
    "Wilhelm": ("Willi",),
    "Gertrud": ("Trude",),
    "Margarete": ("Grete",),
    "Ursula": ("Uschi",),
    "Christine": ("Christa", "Tina"),
    "Katharina": ("Käthe", "Kathrin"),
    "Barbara": ("Babs",),
    # both
    "Alexander": ("Alex", "Sander"),
    "Robert": ("Rob", "Bob"),
    "Michael": ("Michiel", "Mike"),
    "Thomas": ("Tom",),
    "Andreas": ("Andi",),
}

# Surname prefixes that are sorted and compared apart from the name proper. Multi-word
# particles come before their first word ("van der" before "van"); a parser matches a particle
# followed by a space and repeats, so "von der" and "van 't" are found too.
SURNAME_PARTICLES: Final = (
    "van der",
    "van den",
    "van de",
    "van",
    "de",
    "den",
    "der",
    "ter",
    "ten",
    "te",
    "von",
    "vom",
    "zu",
    "op de",
    "in 't",
    "'t",
)

# Spelling pairs that sound alike in Dutch/German names; either side may stand for the other.
PHONETIC_VARIANTS: Final[tuple[tuple[str, str], ...]] = (
    ("ij", "y"),
    ("ij", "ei"),
    ("ei", "ai"),
    ("ey", "ei"),
    ("ch", "g"),
    ("c", "k"),
    ("ph", "f"),
    ("dt", "d"),
    ("dt", "t"),
    ("ck", "k"),
    ("th", "t"),
    ("ks", "x"),
    ("tz", "z"),
    ("z", "s"),
    ("v", "f"),
    ("ä", "ae"),
    ("ö", "oe"),
    ("ü", "ue"),
    ("ß", "ss"),
    ("ou", "au"),
    ("gh", "g"),
    ("ae", "aa"),
    ("sch", "s"),
    ("sz", "s"),
    ("ie", "i"),
    ("uy", "ui"),
    # doubled consonant <-> single
    ("dd", "d"),
    ("ff", "f"),
    ("kk", "k"),
    ("ll", "l"),
    ("mm", "m"),
    ("nn", "n"),
    ("pp", "p"),
    ("rr", "r"),
    ("ss", "s"),
    ("tt", "t"),
    ("ssen", "sen"),
)


def split_surname(surname: str) -> tuple[str, str]:
    """Split "van den Berg" into ("van den", "Berg"): linkage compares the parts apart."""
    rest = surname
    found: list[str] = []
    while True:
        low = rest.lower()
        for particle in SURNAME_PARTICLES:
            if low.startswith(particle + " ") and len(rest) > len(particle) + 1:
                found.append(rest[: len(particle)])
                rest = rest[len(particle) + 1 :].lstrip()
                break
        else:
            return " ".join(found), rest


# Abbreviations clerks use for street suffixes ("Kerkstr." for Kerkstraat).
STREET_ABBREVIATIONS: Final = (
    ("straat", "str."),
    ("laan", "ln."),
    ("plein", "pln."),
    ("gracht", "gr."),
    ("singel", "sngl."),
)
