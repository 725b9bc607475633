"""Dutch and German surnames: the real commonest ones with their numbers of bearers, and a
generated Zipf tail of plausible rare ones (place-name compounds, occupations, patronymics and
their spelling variants), so that linkage meets both many namesakes and many unique names.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final

import numpy as np

from tessera.synth.names.parsing import weighted, words

# Real surnames with approximate numbers of bearers (Netherlands ~16.5 M, Germany ~82 M).
SURNAMES_NL: Final = weighted(
    "de Jong 86000, Jansen 74000, de Vries 72000, van den Berg 58000, van Dijk 56000,"
    "Bakker 54000, Janssen 53000, Visser 48000, Smit 45000, Meijer 41000, de Boer 40000,"
    "Mulder 38000, de Groot 37000, Bos 36000, Vos 31000, Peters 30000, Hendriks 30000,"
    "van Leeuwen 29000, Dekker 28000, Brouwer 27000, de Wit 26000, Dijkstra 26000, Smits 25000,"
    "de Graaf 24000, van der Meer 24000, van der Linden 22000, Kok 22000, Jacobs 22000,"
    "de Haan 21000, Vermeulen 21000, van den Heuvel 20000, van der Veen 20000,"
    "van den Broek 20000, de Bruijn 19000, de Bruin 19000, van der Heijden 19000,"
    "Schouten 19000, van Beek 18000, Willems 18000, van Vliet 18000, van de Ven 17000,"
    "Hoekstra 17000, Maas 17000, Verhoeven 17000, Koster 16000, van Dam 16000,"
    "van der Wal 16000, Prins 16000, Blom 16000, Huisman 16000, Peeters 15000, de Jonge 15000,"
    "Kuipers 15000, van Veen 15000, Post 15000, Kuiper 15000, Veenstra 15000, Kramer 14000,"
    "van den Brink 14000, Scholten 14000, van Wijk 14000, Postma 14000, Martens 14000,"
    "Vink 14000, de Ruiter 14000, Timmermans 13000, Groen 13000, Gerritsen 13000,"
    "Jonker 13000, van Loon 13000, Boer 13000, van der Velde 13000, Willemsen 12000,"
    "Smeets 12000, de Lange 12000, de Vos 12000, Bosch 12000, van Dongen 12000,"
    "Schipper 12000, de Koning 12000, van der Laan 12000, Koning 12000, van der Velden 11000,"
    "Driessen 11000, van Doorn 11000, Hermans 11000, Evers 11000, van den Bosch 11000,"
    "van der Meulen 11000, Hofman 11000, Bosman 11000, Wolters 11000, Sanders 11000,"
    "van der Horst 11000, Mol 11000, Kuijpers 11000, Molenaar 11000, van de Pol 11000,"
    "de Leeuw 10000, Verbeek 10000, Bouwman 9500, Hoogendoorn 9000, van Rijn 9000,"
    "Aarts 9000, Brink 9000, Wouters 9000, van Es 8500, Wijnen 8000, Rutten 8000,"
    "Bouma 8000, Koopman 8000, van Dijken 7500, Claassen 7500, van der Zee 7500,"
    "Verschuren 7000, Kort 7000, Verhagen 7000, Hoek 7000, van Gelder 7000, Biesheuvel 5000,"
    "Zwart 7000, Wijers 5000, Lammers 6500, Hoogland 6000, van Rooij 6500, Hendriksen 6000,"
    "Dijkman 5500, Brands 5500, Poelman 5000, de Kok 6000, Nijhuis 6000, Westerhof 5000,"
    "Veldman 6000, Boersma 6500, Sijtsma 4000, Nieuwenhuis 6000, Jacobsen 3000,"
    "Kroon 6000, Terpstra 5500, Haverkamp 4000, ter Horst 4500,"
    "ten Hove 2500, op de Beek 1500, in 't Veld 2500, 't Hart 5000, van 't Hof 2000,"
    "van Rossum 5000, Beekman 5000, van Houten 5500, Brinkman 6000, Hoogeveen 4000"
)
SURNAMES_DE: Final = weighted(
    "Müller 256000, Schmidt 190000, Schneider 115000, Fischer 98000, Weber 85000,"
    "Meyer 84000, Wagner 79000, Becker 75000, Schulz 74000, Hoffmann 73000, Schäfer 60000,"
    "Koch 58000, Bauer 57000, Richter 56000, Klein 55000, Wolf 51000, Schröder 50000,"
    "Neumann 50000, Schwarz 48000, Zimmermann 47000, Braun 44000, Krüger 44000,"
    "Hofmann 43000, Hartmann 42000, Lange 42000, Schmitt 41000, Werner 40000, Schmitz 40000,"
    "Krause 39000, Meier 38000, Lehmann 38000, Schmid 37000, Schulze 36000, Maier 35000,"
    "Köhler 34000, Herrmann 33000, König 33000, Walter 32000, Mayer 32000, Huber 31000,"
    "Kaiser 30000, Fuchs 30000, Peters 30000, Lang 29000, Scholz 29000, Möller 28000,"
    "Weiß 28000, Jung 27000, Hahn 27000, Schubert 26000, Vogel 26000, Friedrich 26000,"
    "Keller 25000, Günther 25000, Frank 25000, Berger 24000, Winkler 24000, Roth 24000,"
    "Beck 23000, Lorenz 23000, Baumann 23000, Franke 22000, Albrecht 22000, Schuster 22000,"
    "Simon 22000, Ludwig 21000, Böhm 21000, Winter 21000, Kraus 20000, Martin 20000,"
    "Schumacher 20000, Krämer 20000, Vogt 20000, Stein 19000, Jäger 19000, Otto 19000,"
    "Sommer 19000, Groß 19000, Seidel 18000, Heinrich 18000, Brandt 18000, Haas 18000,"
    "Schreiber 18000, Graf 18000, Schulte 17000, Dietrich 17000, Ziegler 17000, Kuhn 17000,"
    "Kühn 17000, Pohl 17000, Engel 17000, Horn 16000, Busch 16000, Bergmann 16000,"
    "Thomas 16000, Voigt 16000, Sauer 16000, Arnold 16000, Wolff 16000, Pfeiffer 16000,"
    "von Bergen 2000, von der Heide 2500, vom Hofe 1500, zu Stolberg 200"
)
# Total bearers of each origin: what the head does not cover goes to the generated tail.
_POPULATION: Final = {"nl": 16_500_000, "de": 30_000_000}
# Tail weights are 1/(rank + offset): the offset keeps the commonest generated name rarer than
# the real head, as the rarest real names in the head are still among the ~150 commonest.
_ZIPF_OFFSET: Final = {"nl": 300.0, "de": 100.0}


# Long tail: particles + place-name compounds, occupational stems + suffixes, patronymics.
_NL_PLACE_PREFIXES: Final = words(
    "Oost West Noord Zuid Hoog Laag Nieuw Oud Groot Klein Middel Boven Neder Over Zand Steen"
    " Hout Broek Water Molen Kerk Berg Hof Linde Eike Beuke Wilge Es Riet Heide Bosch Velde"
    " Dijk Hage Rode Wester Ooster Noorder Zuider Brand Loo Bruggen Haar Mol Kamp Ham Hul Ven"
    " Zwanen Valken Vos Hazen Raven Wolf Kraai Leeuw Roze Wit Zwart Groen Rood Blauw Elzen"
    " Eggen Bleek Dorre Holle Kleine Lange Korte Brede Vinke Hane Bree Gaste Rozen Appel"
    " Brug Dal Eng Heem Lin Mar Ros Scheer Schoon Spijker Stroo Til Vree Wage Zon Koe Paarde"
    " Schape Gans Haver Koren Vlas Hennep Kempe Rijn Maas Amstel Vecht Lek Eem Berkel Dinkel"
    " Regge Loen Bunne Ekke Harde Smalle Duiven Kranen"
)
_NL_PLACE_CORES: Final = words(
    "veld berg dijk hof kamp horst beek broek bosch hout wijk huizen hoven meer laar donk rode lo"
    " sloot brink hoek heuvel dam burg water weg land gaard hage wal straten schot dorp kerk"
    " stede zande akker weide hei meulen venne holt ham loo bergen velden dijke hoeve werf"
    " hem um wold zijl mond sluis poel plas hoef kerke lande"
)
# Particles before a place name other than plain "van", with their relative frequency.
_NL_PARTICLES_FOR_PLACES: Final = weighted(
    "van de 20, van den 20, van der 20, ter 10, ten 8, van 't 5, te 3, op de 2, in 't 2"
)
_NL_STEMS: Final = words(
    "Bakk Smit Kuip Visch Timmer Molen Brouw Schip Scheep Kooi Bos Hof Veen Dijk Wever Koop"
    " Boer Zand Schot Berg Kamp Brink Hoek Horst Kort Lang Groen Klein Groot Jong Oud Vos Haan"
    " Wolf Beek Hout Kol Mol Stam Bloem Roos Zwart Wit Kram Brand Kruis Borg Post Pot Vlas"
    " Koren Wijn Bier Melk Boter Kaas Stok Kist Wagen Rad Sluis Dam Meer Poel Ven Slot Toren"
    " Poort Markt Sikk Tuin Akker Weid Lind Ekk Heid Riet Wilg Hag Plas Graaf Ridd Knap Schaap"
    " Koe Os Geit Paard Hert Zwaan Gans Eend Kraai Valk Sperw Mees Vink Merel Lijst Spreeuw"
    " Hooi Stro Pijp Glas Lood Zilver Goud Koper Kalk Klei Turf Zout Suiker Peper Zaad Graan"
    " Rogge Gerst Appel Peer Kers Pruim Noot Eik Beuk Wijt Hazel Brug Lamp Kaars Zeef Mand"
)
_NL_STEM_SUFFIXES: Final = words(
    "er ers man mans ema sma stra inga enga ing ink kes en ens elaar enaar ier aar hof meijer"
    " kamp huis veen je s stra werf"
)
_NL_PATRONYM_STEMS: Final = words(
    "Jan Pieter Hendrik Gerrit Willem Klaas Dirk Cornelis Jacob Albert Harm Roelof Evert Teunis"
    " Arend Gijs Thijs Huib Wouter Floris Reinder Sjoerd Douwe Jelle Wiebe Tjeerd Folkert"
    " Lammert Egbert Geert Lucas Maarten Simon Adriaan Aart Bart Joost Marten Reijer Steven"
    " Wessel Herman Frans Claas Goossen Jorrit Meindert Harmen Hidde Rutger Tijmen Wijnand"
    " Ewoud Gerben Hessel Jurjen Melle Oene Pier Ruurd Sybren Taeke Ulbe Wopke Hein Joris"
    " Jochem Kors Lubbert Mathijs Nanne Otte Rienk Sieds Tjalling Wybe Ype"
)
_NL_PATRONYM_SUFFIXES: Final = words("s sen se sz ssen ink ing ens ma stra inga")

_DE_PREFIXES: Final = words(
    "Schwarz Weiß Grün Roth Braun Neu Alt Hoch Tief Lang Kurz Groß Klein Ober Unter Nieder"
    " Stein Wald Berg Bach Feld Hof Lind Rosen Eichen Birken Buchen Tann Fichten Mühl Kirch"
    " Burg Brunn Sonnen Stern Wolf Fuchs Adler Falken Hirsch Kron Eisen Gold Silber Kupfer"
    " Blumen Linden Lehm Sand Moos Ried Heid Horn Dorn Haber Korn Weiden Erlen Espen"
)
_DE_CORES: Final = words(
    "mann er berger berg bach stein wald hausen feld felder hofer meier mayer müller hof hardt"
    " thal baum brunner hauser inger burger schmidt bauer rieder moser ecker huber eder reiter"
)
_DE_PLACE_CORES: Final = ("berg", "bach", "stein", "hausen", "feld", "hof", "thal", "burg")


# Spelling variants that real surnames come in (Meijer/Meyer, Huisman/Huysman): (from, to);
# a trailing "$" anchors the spelling at the end of the name (Hofland/Hoflandt).
_NL_SPELLINGS: Final = (
    ("ij", "y"),
    ("ui", "uy"),
    ("sen", "zen"),
    ("ck", "k"),
    ("ouw", "ou"),
    ("bosch", "bos"),
    ("dt", "d"),
    ("aa", "ae"),
    ("eij", "ey"),
    ("veld", "velt"),
    ("huis", "huys"),
    ("berg", "bergh"),
    ("hof", "hoff"),
    ("man", "mann"),
    ("kamp", "camp"),
    ("sz", "s"),
    ("d$", "dt"),
    ("oot$", "oodt"),
    ("it$", "idt"),
    ("ink$", "inck"),
    ("er$", "ers"),
    ("en$", "e"),
    ("s$", "se"),
    ("k$", "ck"),
)
_DE_SPELLINGS: Final = (
    ("ei", "ai"),
    ("ei", "ey"),
    ("mann", "man"),
    ("dt", "t"),
    ("tz", "z"),
    ("ä", "ae"),
    ("ö", "oe"),
    ("ü", "ue"),
    ("ß", "ss"),
    ("th", "t"),
    ("ck", "k"),
    ("mayer", "meyer"),
    ("meier", "maier"),
    ("d$", "dt"),
    ("f$", "ff"),
)


def _spelling_variants(
    names: list[str], rules: tuple[tuple[str, str], ...], rng: np.random.Generator
) -> list[str]:
    """One or two alternative spellings of each name that admits one (Huisman, Huysman)."""
    out = []
    for name in names:
        options = [
            (a, b) for a, b in rules if (name.endswith(a[:-1]) if a[-1] == "$" else a in name[1:])
        ]
        if not options:
            continue
        first = int(rng.integers(len(options)))
        picks = [first]
        if len(options) > 1 and rng.random() < 0.5:
            second = int(rng.integers(len(options) - 1))
            picks.append(second + (second >= first))
        for k in picks:
            a, b = options[k]
            if a[-1] == "$":
                out.append(name[: len(name) - len(a) + 1] + b)
            else:
                i = name.index(a, 1)
                out.append(name[:i] + b + name[i + len(a) :])
    return out


def _tail_candidates(origin: str) -> list[str]:
    """Every generated surname of one origin, in a fixed order."""
    rng = np.random.default_rng(20_240_601 if origin == "nl" else 20_240_602)
    names: list[str] = []
    if origin == "nl":
        particles = [p for p, _ in _NL_PARTICLES_FOR_PLACES]
        cum_particle = np.cumsum([w for _, w in _NL_PARTICLES_FOR_PLACES], dtype=float)
        cum_particle /= cum_particle[-1]
        for prefix in _NL_PLACE_PREFIXES:
            linked = [prefix] if prefix[-1] in "en" else [prefix, prefix + "en"]
            for stem in linked:
                for core in _NL_PLACE_CORES:
                    if prefix.lower() == core:
                        continue
                    compound = stem + core
                    names.append(compound)
                    # About a third of Dutch surnames carry a particle, most often "van".
                    if rng.random() < 0.35:
                        names.append("van " + compound)
                    if rng.random() < 0.3:
                        particle = particles[int(np.searchsorted(cum_particle, rng.random()))]
                        names.append(f"{particle} {compound}")
        for particle in particles:
            for core in _NL_PLACE_CORES:
                names.append(f"{particle} {core.capitalize()}")
        names += [stem + suffix for stem in _NL_STEMS for suffix in _NL_STEM_SUFFIXES]
        names += [stem + suffix for stem in _NL_PATRONYM_STEMS for suffix in _NL_PATRONYM_SUFFIXES]
        names += _spelling_variants(names, _NL_SPELLINGS, rng)
    else:
        names += [prefix + core for prefix in _DE_PREFIXES for core in _DE_CORES]
        names += ["von " + prefix + core for prefix in _DE_PREFIXES for core in _DE_PLACE_CORES]
        names += _spelling_variants(names, _DE_SPELLINGS, rng)
    # Joining stem and suffix can triple a letter ("Cornelis" + "ssen"): no one is called that.
    return [name for name in dict.fromkeys(names) if not _TRIPLE.search(name.lower())]


_TRIPLE: Final = re.compile(r"(.)\1\1")


@cache
def surname_table(origin: str) -> tuple[np.ndarray, np.ndarray]:
    """Surnames of one origin ('nl' or 'de') and their probabilities: real head, Zipf tail.

    The tail is shuffled with a fixed seed and weighted 1/(rank + offset), so its most common
    name is as frequent as a mid-table real surname and its rarest occur a few times per
    million people.
    """
    head = dict(SURNAMES_NL if origin == "nl" else SURNAMES_DE)
    head = {name: weight for name, weight in head.items() if weight > 0}
    tail = [name for name in _tail_candidates(origin) if name not in head]
    order = np.random.default_rng(7 if origin == "nl" else 8).permutation(len(tail))
    offset = _ZIPF_OFFSET[origin]
    zipf = 1.0 / (np.arange(len(tail)) + offset)
    tail_mass = max(_POPULATION[origin] - sum(head.values()), 0)
    tail_weights = zipf / zipf.sum() * tail_mass
    names = np.array([*head, *(tail[i] for i in order)], dtype=object)
    weights = np.concatenate([np.array(list(head.values()), dtype=float), tail_weights])
    return names, weights / weights.sum()
