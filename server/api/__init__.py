"""HTTP and websocket adapters over the conversation, the bank and the store."""
