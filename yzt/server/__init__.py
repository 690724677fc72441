"""The reference operator: a real sandbox server for the whole protocol (``yzt serve``)."""
