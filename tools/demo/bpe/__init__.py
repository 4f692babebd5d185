"""A byte-level BPE tokenizer trainer for the demo model (Python 3 standard library only).

See tools/demo/train_tokenizer.py for the command and resources/demo-trained/README.md for what it made.
"""
