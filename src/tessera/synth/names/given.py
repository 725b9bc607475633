"""Dutch and German given names by sex and birth cohort, weighted by how common they are."""

from __future__ import annotations

from functools import cache
from typing import Final

import numpy as np

from tessera.synth.names.parsing import weighted

# Given-name fashions change by birth cohort: lists hold one weight string per era.
ERA_BOUNDS: Final = (1960, 1990)  # eras: born < 1960, 1960-1989, >= 1990


# (origin, sex) -> one weighted list per era. Born before 1960: registered under formal names.
GIVEN_NAMES: Final[dict[tuple[str, str], tuple[tuple[tuple[str, int], ...], ...]]] = {
    ("nl", "M"): (
        weighted(
            "Johannes 60, Cornelis 45, Jan 45, Hendrik 35, Pieter 30, Gerrit 25, Willem 25,"
            "Jacobus 25, Wilhelmus 20, Petrus 20, Gerardus 20, Antonius 20, Adrianus 18,"
            "Hendrikus 15, Dirk 15, Franciscus 12, Theodorus 12, Klaas 12, Nicolaas 10,"
            "Albertus 10, Bernardus 10, Martinus 10, Marinus 10, Jacob 10, Arie 10, Johan 10,"
            "Hermanus 8, Leendert 8, Evert 8, Josephus 8, Hans 8, Henk 6, Lambertus 6, Paulus 6,"
            "Roelof 6, Frederik 6, Gijsbert 6, Teunis 5, Harm 5, Jozef 6, Aart 4, Jelle 4,"
            "Sjoerd 4, Douwe 3, Robert 4, Thomas 3, Michael 2, Alexander 2, Kees 3, Piet 4, Wim 3"
        ),
        weighted(
            "Peter 20, Marcel 20, Mark 18, Robert 15, Erik 15, Jeroen 15, Paul 15, Michel 12,"
            "Patrick 12, Martijn 12, Dennis 12, Frank 12, Richard 10, René 10, Edwin 10, Sander 10,"
            "Ronald 10, Marco 10, Jan 10, Hans 10, Arjan 8, Bas 8, Vincent 8, Johan 8, Maarten 8,"
            "Wouter 8, Bart 8, Niels 8, Michiel 6, Thomas 6, Alexander 6, Joost 6, Tim 6, Gerard 6,"
            "Rob 5, Kevin 5, Wim 5, Dirk 4, Johannes 4, Cornelis 3, Hendrik 3, Michael 4"
        ),
        weighted(
            "Daan 20, Sem 18, Lucas 16, Levi 15, Finn 15, Milan 14, Thijs 14, Jesse 14, Bram 14,"
            "Luuk 13, Lars 13, Ruben 12, Stijn 12, Tim 12, Thomas 12, Niels 10, Jasper 10,"
            "Max 10, Noah 10, Sven 9, Tom 9, Julian 8, Gijs 8, Koen 8, Joris 7, Mees 6, Jan 6,"
            "Alexander 5, Robert 3, Michael 3"
        ),
    ),
    ("nl", "F"): (
        weighted(
            "Maria 60, Johanna 45, Cornelia 30, Elisabeth 25, Wilhelmina 25, Hendrika 25, Anna 25,"
            "Margaretha 20, Catharina 20, Adriana 15, Jacoba 15, Geertruida 12, Petronella 12,"
            "Helena 10, Christina 8, Alida 8, Gerarda 8, Aaltje 8, Grietje 6, Antje 6, Neeltje 6,"
            "Jannetje 6, Francisca 6, Theodora 5, Dirkje 5, Everdina 5, Annie 6, Riet 5, Ria 5,"
            "Gerda 5, Truus 4, Corrie 4, Joke 4, Tineke 3, Bep 3, Willy 3, Hilda 3"
        ),
        weighted(
            "Monique 15, Linda 15, Sandra 15, Patricia 12, Marieke 12, Ingrid 12, Petra 12,"
            "Anita 10, Esther 12, Wendy 10, Marjolein 8, Saskia 10, Ellen 10, Karin 10, Mirjam 8,"
            "Annemarie 8, Judith 8, Yvonne 10, Jolanda 8, Angelique 6, Astrid 6, Ilse 6,"
            "Suzanne 6, Femke 6, Kim 6, Manon 6, Natasja 5, Chantal 6, Maria 5, Anneke 4,"
            "Elisabeth 3, Johanna 3, Catharina 2, Christine 3"
        ),
        weighted(
            "Emma 20, Sophie 18, Julia 18, Anna 15, Lisa 15, Eva 14, Sara 13, Tess 12, Lotte 12,"
            "Fleur 12, Isa 11, Noa 10, Zoë 10, Lieke 10, Sanne 10, Iris 10, Anouk 10, Femke 8,"
            "Britt 8, Roos 8, Esmee 7, Demi 7, Lynn 6, Maud 6, Nina 6, Maria 2"
        ),
    ),
    ("de", "M"): (
        weighted(
            "Hans 30, Klaus 25, Günter 22, Heinz 18, Werner 20, Karl 20, Gerhard 18, Horst 16,"
            "Wolfgang 20, Dieter 16, Manfred 15, Helmut 15, Peter 15, Jürgen 14, Walter 12,"
            "Kurt 10, Friedrich 14, Heinrich 14, Josef 12, Johann 12, Wilhelm 12, Georg 8,"
            "Rudolf 8, Herbert 8, Ernst 8, Rolf 6, Fritz 4"
        ),
        weighted(
            "Michael 20, Thomas 18, Andreas 16, Stefan 15, Frank 12, Markus 12, Christian 12,"
            "Matthias 10, Alexander 8, Jens 8, Jörg 8, Tobias 6, Daniel 8, Oliver 6, Sven 6,"
            "Martin 8, Uwe 6, Ralf 6, Robert 4"
        ),
        weighted(
            "Lukas 15, Leon 14, Jonas 13, Felix 12, Maximilian 12, Paul 11, Finn 10, Niklas 10,"
            "Tim 9, Jan 8, Luca 8, Elias 8, Noah 7, Ben 7, Alexander 4"
        ),
    ),
    ("de", "F"): (
        weighted(
            "Ursula 20, Gertrud 16, Helga 16, Ingrid 15, Renate 15, Elisabeth 14, Margarete 12,"
            "Gisela 12, Erika 12, Brigitte 12, Hildegard 10, Ilse 8, Christa 8, Karin 8, Monika 10,"
            "Anna 8, Maria 10, Marianne 8, Edith 6, Waltraud 6, Irmgard 6, Christine 8,"
            "Barbara 8, Katharina 6"
        ),
        weighted(
            "Sabine 18, Susanne 15, Petra 15, Claudia 14, Andrea 14, Stefanie 10, Nicole 12,"
            "Birgit 10, Anja 10, Katrin 8, Julia 8, Christina 6, Sandra 8, Melanie 8, Tanja 8,"
            "Kerstin 6, Christine 5, Barbara 3"
        ),
        weighted(
            "Lena 14, Hannah 13, Anna 13, Lea 12, Leonie 11, Sophie 11, Marie 10, Laura 10,"
            "Lara 9, Emily 8, Mia 8, Emma 8, Johanna 7, Lina 6, Lisa 6, Sarah 6, Katharina 4"
        ),
    ),
}


@cache
def given_name_table(origin: str, sex: str, era: int) -> tuple[np.ndarray, np.ndarray]:
    """Given names for one origin, sex ('M'/'F') and era index, with probabilities."""
    pairs = GIVEN_NAMES[(origin, sex)][era]
    weights = np.array([w for _, w in pairs], dtype=float)
    return np.array([n for n, _ in pairs], dtype=object), weights / weights.sum()
