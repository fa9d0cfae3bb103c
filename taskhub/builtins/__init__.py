"""The host's own plugins: ordinary hook implementations, registered before any entry point."""
