"""The gatewatch CLI: one module per command family (register + dispatch); argparse lives here."""
