"""Reader v2: eligibility text as a research nurse reads it (document, concepts, context, rules)."""


def warm_up() -> None:
    """Build the reader's tables and patterns now (about a tenth of a second, once per
    process): worker processes do it before their first studies, the app on a background
    thread at start, so neither the first reading nor the first card's questions wait."""
    from .. import facets  # noqa: F401  (defines the facets' gates)
    from .context import cue_book
    from .lexicon import lexicon
    from .rules import facet_rules
    from .text import _GATES
    from .waits import _blockers, _reference, _waiting_words

    cue_book()
    lexicon()
    facet_rules()
    _waiting_words()
    _blockers()
    _reference()
    _GATES.tables()  # builds the gates' shared scan
