"""The ``storefront`` console command. Each area registers its own subcommands."""
