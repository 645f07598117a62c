"""The LA and DfE web portal: sign-in, upload through the ledger's hand-off, feedback and packs."""
