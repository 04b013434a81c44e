"""Event types, codec, upcasters and the topic catalogue: the contract every other layer shares."""
