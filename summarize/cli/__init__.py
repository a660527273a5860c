"""The command line: parse arguments, call the library, print. Nothing in the library imports it."""
