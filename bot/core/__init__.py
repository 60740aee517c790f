"""The shared vocabulary: messages, state, events, the action SDK, parse, domain names, responses,
errors, ports, config and settings. Every other layer imports it; it imports none of them."""
