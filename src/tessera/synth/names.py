"""Frequency-weighted names and addresses for synthetic Dutch and German identities.

Record linkage is only tested honestly on identities that look like the real population: a few
very common surnames (many people called de Jong who are not the same person), a long tail of
rare ones, formal registered given names in older cohorts, and postcodes that really belong to
the city they are paired with. Weights are approximate counts of bearers (real for the head of
each list, generated for the tail), so only their ratios matter.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final, NamedTuple

import numpy as np

# Share of people of German origin (names drawn from the German lists).
GERMAN_SHARE: Final = 0.10

# Given-name fashions change by birth cohort: lists hold one weight string per era.
ERA_BOUNDS: Final = (1960, 1990)  # eras: born < 1960, 1960-1989, >= 1990


def _weighted(spec: str) -> tuple[tuple[str, int], ...]:
    """Parse "Johannes 60, de Jong 86": the last word of each item is its weight."""
    items = []
    for item in spec.split(","):
        item = item.strip()
        if item:
            name, weight = item.rsplit(" ", 1)
            items.append((name.strip(), int(weight)))
    return tuple(items)


def _words(spec: str, sep: str | None = None) -> tuple[str, ...]:
    """Split a long literal into its words (or comma-separated items when `sep` is given)."""
    return tuple(w.strip() for w in spec.split(sep) if w.strip())


# (origin, sex) -> one weighted list per era. Born before 1960: registered under formal names.
GIVEN_NAMES: Final[dict[tuple[str, str], tuple[tuple[tuple[str, int], ...], ...]]] = {
    ("nl", "M"): (
        _weighted(
            "Johannes 60, Cornelis 45, Jan 45, Hendrik 35, Pieter 30, Gerrit 25, Willem 25,"
            "Jacobus 25, Wilhelmus 20, Petrus 20, Gerardus 20, Antonius 20, Adrianus 18,"
            "Hendrikus 15, Dirk 15, Franciscus 12, Theodorus 12, Klaas 12, Nicolaas 10,"
            "Albertus 10, Bernardus 10, Martinus 10, Marinus 10, Jacob 10, Arie 10, Johan 10,"
            "Hermanus 8, Leendert 8, Evert 8, Josephus 8, Hans 8, Henk 6, Lambertus 6, Paulus 6,"
            "Roelof 6, Frederik 6, Gijsbert 6, Teunis 5, Harm 5, Jozef 6, Aart 4, Jelle 4,"
            "Sjoerd 4, Douwe 3, Robert 4, Thomas 3, Michael 2, Alexander 2, Kees 3, Piet 4, Wim 3"
        ),
        _weighted(
            "Peter 20, Marcel 20, Mark 18, Robert 15, Erik 15, Jeroen 15, Paul 15, Michel 12,"
            "Patrick 12, Martijn 12, Dennis 12, Frank 12, Richard 10, René 10, Edwin 10, Sander 10,"
            "Ronald 10, Marco 10, Jan 10, Hans 10, Arjan 8, Bas 8, Vincent 8, Johan 8, Maarten 8,"
            "Wouter 8, Bart 8, Niels 8, Michiel 6, Thomas 6, Alexander 6, Joost 6, Tim 6, Gerard 6,"
            "Rob 5, Kevin 5, Wim 5, Dirk 4, Johannes 4, Cornelis 3, Hendrik 3, Michael 4"
        ),
        _weighted(
            "Daan 20, Sem 18, Lucas 16, Levi 15, Finn 15, Milan 14, Thijs 14, Jesse 14, Bram 14,"
            "Luuk 13, Lars 13, Ruben 12, Stijn 12, Tim 12, Thomas 12, Niels 10, Jasper 10,"
            "Max 10, Noah 10, Sven 9, Tom 9, Julian 8, Gijs 8, Koen 8, Joris 7, Mees 6, Jan 6,"
            "Alexander 5, Robert 3, Michael 3"
        ),
    ),
    ("nl", "F"): (
        _weighted(
            "Maria 60, Johanna 45, Cornelia 30, Elisabeth 25, Wilhelmina 25, Hendrika 25, Anna 25,"
            "Margaretha 20, Catharina 20, Adriana 15, Jacoba 15, Geertruida 12, Petronella 12,"
            "Helena 10, Christina 8, Alida 8, Gerarda 8, Aaltje 8, Grietje 6, Antje 6, Neeltje 6,"
            "Jannetje 6, Francisca 6, Theodora 5, Dirkje 5, Everdina 5, Annie 6, Riet 5, Ria 5,"
            "Gerda 5, Truus 4, Corrie 4, Joke 4, Tineke 3, Bep 3, Willy 3, Hilda 3"
        ),
        _weighted(
            "Monique 15, Linda 15, Sandra 15, Patricia 12, Marieke 12, Ingrid 12, Petra 12,"
            "Anita 10, Esther 12, Wendy 10, Marjolein 8, Saskia 10, Ellen 10, Karin 10, Mirjam 8,"
            "Annemarie 8, Judith 8, Yvonne 10, Jolanda 8, Angelique 6, Astrid 6, Ilse 6,"
            "Suzanne 6, Femke 6, Kim 6, Manon 6, Natasja 5, Chantal 6, Maria 5, Anneke 4,"
            "Elisabeth 3, Johanna 3, Catharina 2, Christine 3"
        ),
        _weighted(
            "Emma 20, Sophie 18, Julia 18, Anna 15, Lisa 15, Eva 14, Sara 13, Tess 12, Lotte 12,"
            "Fleur 12, Isa 11, Noa 10, Zoë 10, Lieke 10, Sanne 10, Iris 10, Anouk 10, Femke 8,"
            "Britt 8, Roos 8, Esmee 7, Demi 7, Lynn 6, Maud 6, Nina 6, Maria 2"
        ),
    ),
    ("de", "M"): (
        _weighted(
            "Hans 30, Klaus 25, Günter 22, Heinz 18, Werner 20, Karl 20, Gerhard 18, Horst 16,"
            "Wolfgang 20, Dieter 16, Manfred 15, Helmut 15, Peter 15, Jürgen 14, Walter 12,"
            "Kurt 10, Friedrich 14, Heinrich 14, Josef 12, Johann 12, Wilhelm 12, Georg 8,"
            "Rudolf 8, Herbert 8, Ernst 8, Rolf 6, Fritz 4"
        ),
        _weighted(
            "Michael 20, Thomas 18, Andreas 16, Stefan 15, Frank 12, Markus 12, Christian 12,"
            "Matthias 10, Alexander 8, Jens 8, Jörg 8, Tobias 6, Daniel 8, Oliver 6, Sven 6,"
            "Martin 8, Uwe 6, Ralf 6, Robert 4"
        ),
        _weighted(
            "Lukas 15, Leon 14, Jonas 13, Felix 12, Maximilian 12, Paul 11, Finn 10, Niklas 10,"
            "Tim 9, Jan 8, Luca 8, Elias 8, Noah 7, Ben 7, Alexander 4"
        ),
    ),
    ("de", "F"): (
        _weighted(
            "Ursula 20, Gertrud 16, Helga 16, Ingrid 15, Renate 15, Elisabeth 14, Margarete 12,"
            "Gisela 12, Erika 12, Brigitte 12, Hildegard 10, Ilse 8, Christa 8, Karin 8, Monika 10,"
            "Anna 8, Maria 10, Marianne 8, Edith 6, Waltraud 6, Irmgard 6, Christine 8,"
            "Barbara 8, Katharina 6"
        ),
        _weighted(
            "Sabine 18, Susanne 15, Petra 15, Claudia 14, Andrea 14, Stefanie 10, Nicole 12,"
            "Birgit 10, Anja 10, Katrin 8, Julia 8, Christina 6, Sandra 8, Melanie 8, Tanja 8,"
            "Kerstin 6, Christine 5, Barbara 3"
        ),
        _weighted(
            "Lena 14, Hannah 13, Anna 13, Lea 12, Leonie 11, Sophie 11, Marie 10, Laura 10,"
            "Lara 9, Emily 8, Mia 8, Emma 8, Johanna 7, Lina 6, Lisa 6, Sarah 6, Katharina 4"
        ),
    ),
}

# Real surnames with approximate numbers of bearers (Netherlands ~16.5 M, Germany ~82 M).
SURNAMES_NL: Final = _weighted(
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
SURNAMES_DE: Final = _weighted(
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
_NL_PLACE_PREFIXES: Final = _words(
    "Oost West Noord Zuid Hoog Laag Nieuw Oud Groot Klein Middel Boven Neder Over Zand Steen"
    " Hout Broek Water Molen Kerk Berg Hof Linde Eike Beuke Wilge Es Riet Heide Bosch Velde"
    " Dijk Hage Rode Wester Ooster Noorder Zuider Brand Loo Bruggen Haar Mol Kamp Ham Hul Ven"
    " Zwanen Valken Vos Hazen Raven Wolf Kraai Leeuw Roze Wit Zwart Groen Rood Blauw Elzen"
    " Eggen Bleek Dorre Holle Kleine Lange Korte Brede Vinke Hane Bree Gaste Rozen Appel"
    " Brug Dal Eng Heem Lin Mar Ros Scheer Schoon Spijker Stroo Til Vree Wage Zon Koe Paarde"
    " Schape Gans Haver Koren Vlas Hennep Kempe Rijn Maas Amstel Vecht Lek Eem Berkel Dinkel"
    " Regge Loen Bunne Ekke Harde Smalle Duiven Kranen"
)
_NL_PLACE_CORES: Final = _words(
    "veld berg dijk hof kamp horst beek broek bosch hout wijk huizen hoven meer laar donk rode lo"
    " sloot brink hoek heuvel dam burg water weg land gaard hage wal straten schot dorp kerk"
    " stede zande akker weide hei meulen venne holt ham loo bergen velden dijke hoeve werf"
    " hem um wold zijl mond sluis poel plas hoef kerke lande"
)
# Particles before a place name other than plain "van", with their relative frequency.
_NL_PARTICLES_FOR_PLACES: Final = _weighted(
    "van de 20, van den 20, van der 20, ter 10, ten 8, van 't 5, te 3, op de 2, in 't 2"
)
_NL_STEMS: Final = _words(
    "Bakk Smit Kuip Visch Timmer Molen Brouw Schip Scheep Kooi Bos Hof Veen Dijk Wever Koop"
    " Boer Zand Schot Berg Kamp Brink Hoek Horst Kort Lang Groen Klein Groot Jong Oud Vos Haan"
    " Wolf Beek Hout Kol Mol Stam Bloem Roos Zwart Wit Kram Brand Kruis Borg Post Pot Vlas"
    " Koren Wijn Bier Melk Boter Kaas Stok Kist Wagen Rad Sluis Dam Meer Poel Ven Slot Toren"
    " Poort Markt Sikk Tuin Akker Weid Lind Ekk Heid Riet Wilg Hag Plas Graaf Ridd Knap Schaap"
    " Koe Os Geit Paard Hert Zwaan Gans Eend Kraai Valk Sperw Mees Vink Merel Lijst Spreeuw"
    " Hooi Stro Pijp Glas Lood Zilver Goud Koper Kalk Klei Turf Zout Suiker Peper Zaad Graan"
    " Rogge Gerst Appel Peer Kers Pruim Noot Eik Beuk Wijt Hazel Brug Lamp Kaars Zeef Mand"
)
_NL_STEM_SUFFIXES: Final = _words(
    "er ers man mans ema sma stra inga enga ing ink kes en ens elaar enaar ier aar hof meijer"
    " kamp huis veen je s stra werf"
)
_NL_PATRONYM_STEMS: Final = _words(
    "Jan Pieter Hendrik Gerrit Willem Klaas Dirk Cornelis Jacob Albert Harm Roelof Evert Teunis"
    " Arend Gijs Thijs Huib Wouter Floris Reinder Sjoerd Douwe Jelle Wiebe Tjeerd Folkert"
    " Lammert Egbert Geert Lucas Maarten Simon Adriaan Aart Bart Joost Marten Reijer Steven"
    " Wessel Herman Frans Claas Goossen Jorrit Meindert Harmen Hidde Rutger Tijmen Wijnand"
    " Ewoud Gerben Hessel Jurjen Melle Oene Pier Ruurd Sybren Taeke Ulbe Wopke Hein Joris"
    " Jochem Kors Lubbert Mathijs Nanne Otte Rienk Sieds Tjalling Wybe Ype"
)
_NL_PATRONYM_SUFFIXES: Final = _words("s sen se sz ssen ink ing ens ma stra inga")

_DE_PREFIXES: Final = _words(
    "Schwarz Weiß Grün Roth Braun Neu Alt Hoch Tief Lang Kurz Groß Klein Ober Unter Nieder"
    " Stein Wald Berg Bach Feld Hof Lind Rosen Eichen Birken Buchen Tann Fichten Mühl Kirch"
    " Burg Brunn Sonnen Stern Wolf Fuchs Adler Falken Hirsch Kron Eisen Gold Silber Kupfer"
    " Blumen Linden Lehm Sand Moos Ried Heid Horn Dorn Haber Korn Weiden Erlen Espen"
)
_DE_CORES: Final = _words(
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


@cache
def given_name_table(origin: str, sex: str, era: int) -> tuple[np.ndarray, np.ndarray]:
    """Given names for one origin, sex ('M'/'F') and era index, with probabilities."""
    pairs = GIVEN_NAMES[(origin, sex)][era]
    weights = np.array([w for _, w in pairs], dtype=float)
    return np.array([n for n, _ in pairs], dtype=object), weights / weights.sum()


# ----------------------------------------------------------------------------- geography

REGIONS: Final = ("north", "east", "south", "west")  # CBS landsdelen


class City(NamedTuple):
    """A municipality, its real 4-digit postcode range and its population in thousands."""

    name: str
    postcode_low: int
    postcode_high: int
    region: int  # index into REGIONS
    population: int


_N, _E, _S, _W = range(4)
CITIES: Final = (
    City("Groningen", 9711, 9747, _N, 235),
    City("Leeuwarden", 8911, 8939, _N, 125),
    City("Assen", 9401, 9409, _N, 68),
    City("Emmen", 7811, 7833, _N, 107),
    City("Sneek", 8601, 8608, _N, 34),
    City("Drachten", 9200, 9204, _N, 45),
    City("Heerenveen", 8441, 8448, _N, 51),
    City("Hoogeveen", 7901, 7909, _N, 55),
    City("Meppel", 7941, 7944, _N, 34),
    City("Hoogezand", 9601, 9611, _N, 34),
    City("Enschede", 7511, 7548, _E, 160),
    City("Nijmegen", 6511, 6546, _E, 180),
    City("Arnhem", 6811, 6846, _E, 165),
    City("Apeldoorn", 7311, 7339, _E, 165),
    City("Zwolle", 8011, 8045, _E, 130),
    City("Almere", 1311, 1364, _E, 220),
    City("Lelystad", 8211, 8245, _E, 80),
    City("Deventer", 7411, 7429, _E, 101),
    City("Hengelo", 7551, 7559, _E, 81),
    City("Ede", 6711, 6718, _E, 118),
    City("Almelo", 7601, 7611, _E, 73),
    City("Doetinchem", 7001, 7009, _E, 58),
    City("Harderwijk", 3841, 3849, _E, 48),
    City("Kampen", 8261, 8266, _E, 54),
    City("Winterswijk", 7101, 7108, _E, 29),
    City("Eindhoven", 5611, 5658, _S, 235),
    City("Tilburg", 5011, 5049, _S, 220),
    City("Breda", 4811, 4841, _S, 185),
    City("'s-Hertogenbosch", 5211, 5237, _S, 157),
    City("Maastricht", 6211, 6229, _S, 122),
    City("Helmond", 5701, 5709, _S, 93),
    City("Oss", 5341, 5352, _S, 93),
    City("Venlo", 5911, 5928, _S, 102),
    City("Heerlen", 6411, 6422, _S, 87),
    City("Roosendaal", 4701, 4709, _S, 77),
    City("Bergen op Zoom", 4611, 4625, _S, 68),
    City("Sittard", 6131, 6137, _S, 92),
    City("Weert", 6001, 6006, _S, 50),
    City("Amsterdam", 1011, 1109, _W, 880),
    City("Rotterdam", 3011, 3089, _W, 650),
    City("Den Haag", 2491, 2597, _W, 550),
    City("Utrecht", 3511, 3585, _W, 360),
    City("Haarlem", 2011, 2037, _W, 162),
    City("Leiden", 2311, 2334, _W, 125),
    City("Amersfoort", 3811, 3829, _W, 158),
    City("Delft", 2611, 2629, _W, 104),
    City("Dordrecht", 3311, 3329, _W, 119),
    City("Zoetermeer", 2711, 2729, _W, 125),
    City("Alkmaar", 1811, 1825, _W, 110),
    City("Hilversum", 1211, 1223, _W, 91),
    City("Gouda", 2801, 2809, _W, 74),
    City("Zaandam", 1501, 1509, _W, 78),
    City("Schiedam", 3111, 3125, _W, 79),
    City("Hoorn", 1621, 1628, _W, 73),
    City("Purmerend", 1441, 1448, _W, 81),
    City("Den Helder", 1781, 1789, _W, 56),
    City("Veenendaal", 3901, 3907, _W, 66),
    City("Middelburg", 4331, 4339, _W, 49),
    City("Vlissingen", 4381, 4389, _W, 45),
    City("Terneuzen", 4531, 4538, _W, 55),
)

# Dutch postcodes never use F, I, O, Q, U or Y, nor the letter pairs SA, SD and SS.
POSTCODE_LETTERS: Final = tuple(
    a + b
    for a in "ABCDEGHJKLMNPRSTVWXZ"
    for b in "ABCDEGHJKLMNPRSTVWXZ"
    if a + b not in ("SA", "SD", "SS")
)

# Streets that exist in almost every Dutch town, weighted by how common they are.
STREETS_COMMON: Final = _weighted(
    "Kerkstraat 1200, Schoolstraat 800, Molenstraat 700, Dorpsstraat 650, Molenweg 600,"
    "Julianastraat 550, Industrieweg 500, Beatrixstraat 450, Wilhelminastraat 450,"
    "Nieuwstraat 400, Stationsstraat 400, Kastanjelaan 400, Stationsweg 350, Eikenlaan 350,"
    "Beukenlaan 350, Hoofdstraat 350, Irenestraat 350, Julianalaan 300, Sportlaan 300,"
    "Markt 300, Prins Bernhardstraat 300, Emmastraat 300, Oranjestraat 300, Lindenlaan 300,"
    "Nassaustraat 250, Parallelweg 250, Kerkweg 250, Kerkplein 200, Dorpsplein 150,"
    "Rembrandtstraat 250, Vondelstraat 250, Mozartlaan 200, Marktplein 150, Oude Gracht 80,"
    "Nieuwe Kade 60, Havenkade 100, Koningin Julianaweg 100, Burgemeester de Withstraat 60"
)
_STREET_ROOTS: Final = _words(
    "Beuken, Eiken, Linden, Berken, Iepen, Essen, Populieren, Wilgen, Kastanje, Acacia, Rozen,"
    " Tulpen, Narcissen, Lelie, Seringen, Meidoorn, Hazelaar, Vlier, Merel, Lijster, Spreeuw,"
    " Zwaluw, Kievit, Reiger, Zwanen, Valken, Havik, Uilen, Rembrandt, Vermeer, Frans Hals,"
    " Mozart, Beethoven, Bach, Schubert, Vondel, Bilderdijk, Da Costa, Tollens, Huygens, Spinoza,"
    " Erasmus, Thorbecke, Van Gogh, Mondriaan, Breitner, Jan Steen, Potter, Ruysdael, Hobbema,"
    " Marconi, Edison, Faraday, Kepler, Copernicus, Pascal, Lorentz, Kerk, School, Molen, Dorps,"
    " Stations, Markt, Haven, Sluis, Dijk, Polder, Veld, Heide, Bos, Duin, Zee, Water, Beek,"
    " Bron, Akker, Weide, Hoeve, Oranje, Nassau, Juliana, Beatrix, Wilhelmina, Emma, Irene,"
    " Margriet, Prins Hendrik, Prins Bernhard, Noorder, Zuider, Ooster, Wester, Lange, Korte,"
    " Hoge, Brede, Achter, Midden, Grote, Kleine, Sport, Park, Tuin, Boomgaard, Esdoorn, Hulst,"
    " Vlinder, Goudsbloem, Klaver, Zonnebloem, Anjer, Jasmijn, Hyacint, Krokus, Dahlia, Papaver",
    sep=",",
)
_STREET_SUFFIXES: Final = _weighted(
    "straat 45, laan 20, weg 15, plein 4, hof 4, singel 3, gracht 2, kade 3, dreef 2, pad 2"
)


@cache
def street_table() -> tuple[np.ndarray, np.ndarray]:
    """Street names and probabilities: the common real ones plus root + suffix compounds."""
    weights: dict[str, float] = {name: float(w) for name, w in STREETS_COMMON}
    n_roots = len(_STREET_ROOTS)
    root_weight = 1.0 / (np.arange(n_roots) + 10.0)
    root_weight = root_weight[np.random.default_rng(9).permutation(n_roots)]
    root_weight *= 12_000 / root_weight.sum()  # the generated streets hold most people
    for root, rw in zip(_STREET_ROOTS, root_weight, strict=True):
        for suffix, sw in _STREET_SUFFIXES:
            name = root + suffix
            weights[name] = weights.get(name, 0.0) + rw * sw / 100
    p = np.array(list(weights.values()))
    return np.array(list(weights), dtype=object), p / p.sum()
