"""Gates: every check run over the emitted files before they reach build/<env>/."""
