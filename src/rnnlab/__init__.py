"""rnnlab: recurrent neural networks from first principles, with hand-written BPTT."""

from rnnlab.layers.embedding import Embedding
from rnnlab.layers.gru import GRU
from rnnlab.layers.linear import Linear
from rnnlab.layers.lstm import LSTM
from rnnlab.layers.rnn import RNN
from rnnlab.losses import log_softmax, mse, softmax_cross_entropy
from rnnlab.optim import SGD, Adam, clip_grad_norm

__version__ = "0.3.0"
__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "SGD",
    "Adam",
    "Embedding",
    "Linear",
    "__version__",
    "clip_grad_norm",
    "log_softmax",
    "mse",
    "softmax_cross_entropy",
]
