"""The chaos harness behind scripts/chaos: real worker and web processes, a private
PostgreSQL cluster, a Stripe stand-in, SIGKILLs and database restarts, and the counts
that say whether every job ran and every checkout was charged once."""
