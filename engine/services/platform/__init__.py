"""Platform services every area uses: the encrypted file store, the audit trail and its anchors."""
