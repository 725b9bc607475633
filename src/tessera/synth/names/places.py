"""Dutch geography for addresses: regions, municipalities with their real postcode ranges and
populations, postcode letters, and weighted street names."""

from __future__ import annotations

from functools import cache
from typing import Final, NamedTuple

import numpy as np

from tessera.synth.names.parsing import weighted, words

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
STREETS_COMMON: Final = weighted(
    "Kerkstraat 1200, Schoolstraat 800, Molenstraat 700, Dorpsstraat 650, Molenweg 600,"
    "Julianastraat 550, Industrieweg 500, Beatrixstraat 450, Wilhelminastraat 450,"
    "Nieuwstraat 400, Stationsstraat 400, Kastanjelaan 400, Stationsweg 350, Eikenlaan 350,"
    "Beukenlaan 350, Hoofdstraat 350, Irenestraat 350, Julianalaan 300, Sportlaan 300,"
    "Markt 300, Prins Bernhardstraat 300, Emmastraat 300, Oranjestraat 300, Lindenlaan 300,"
    "Nassaustraat 250, Parallelweg 250, Kerkweg 250, Kerkplein 200, Dorpsplein 150,"
    "Rembrandtstraat 250, Vondelstraat 250, Mozartlaan 200, Marktplein 150, Oude Gracht 80,"
    "Nieuwe Kade 60, Havenkade 100, Koningin Julianaweg 100, Burgemeester de Withstraat 60"
)
_STREET_ROOTS: Final = words(
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
_STREET_SUFFIXES: Final = weighted(
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
