"""What a chain is: its models and policies, the loader, the catalog, the payloads.

The chain file's models and validation, the model catalog, the OpenRouter request payloads
and the default limits. No I/O beyond reading files.
"""
