"""The protocol core that hub, stations and clients share, and the only thing they share:
the hub connection, enrolment, task parameters, message kinds and seal contexts, and the
pooled protocol written once over a message board (`board.Board`: in memory for local
mode, the hub for the federation). Roles never import one another; they meet here."""
