"""Reader v2: eligibility text as a research nurse reads it (document, concepts, context, rules)."""
