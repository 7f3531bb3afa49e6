"""rnnlab: recurrent neural networks from first principles, with hand-written BPTT."""

from rnnlab.layers.lstm import LSTM
from rnnlab.layers.rnn import RNN

__version__ = "0.1.0"
__all__ = ["LSTM", "RNN", "__version__"]
