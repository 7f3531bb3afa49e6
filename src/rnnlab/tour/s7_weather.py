"""Section 7: weather, as in the lecture -- yesterday and today, then tomorrow.

A generated daily temperature: a seasonal cycle plus weather that persists and swings
(an AR(2) anomaly: a warm spell tends to go on, then turn)::

    T_d = 12 + 9 sin(2 pi (d - 110) / 365.25) + a_d      degrees C
    a_d = 1.2 a_{d-1} - 0.4 a_{d-2} + e_d,  e_d ~ N(0, 2^2)

Task: from the last ``WINDOW`` days predict tomorrow. Four years train, the last two
test (chronological). The MLP on a shuffled window gets the same seven numbers in a fresh
random order for every example: it knows the recent temperatures but not which day was
today. The RNN and LSTM (``rnnlab.models.forecaster.Forecaster``, predicting the level)
read the window in order. Controls: "tomorrow = today" (persistence) and the same MLP on
the ordered window.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.analysis import tour_figures_memory
from rnnlab.models.forecaster import Forecaster, WindowBatch
from rnnlab.optim import Adam
from rnnlab.tour.nets import MLP
from rnnlab.tour.section import Progress, Section
from rnnlab.tour.steps import train_steps

YEARS_TRAIN, YEARS_TEST, WINDOW = 4, 2, 7
HIDDEN, BATCH, LR = 32, 64, 3e-3
MODELS = ("MLP, shuffled window", "MLP, ordered window", "RNN", "LSTM")
MIN_LEAD_CELSIUS = 0.2  # the check: the better recurrent model beats the shuffled MLP by this much


def steps(quick: bool) -> int:
    return 400 if quick else 1500


def cost(quick: bool) -> int:
    return len(MODELS) * steps(quick)


def temperature_series(rng: np.random.Generator, days: int) -> np.ndarray:
    """(days,) daily temperature in degrees C."""
    d = np.arange(days)
    season = 12 + 9 * np.sin(2 * np.pi * (d - 110) / 365.25)
    noise = rng.normal(0, 2.0, size=days + 100)
    anomaly = np.zeros(days + 100)
    for t in range(2, days + 100):
        anomaly[t] = 1.2 * anomaly[t - 1] - 0.4 * anomaly[t - 2] + noise[t]
    return season + anomaly[100:]  # the first 100 days let the anomaly settle


def windows(series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (n, WINDOW) the days up to today (oldest first) and y (n,) tomorrow."""
    n = len(series) - WINDOW
    x = np.stack([series[k : k + WINDOW] for k in range(n)])
    return x, series[WINDOW:]


def shuffle_each(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """Every row's values in a fresh random order: the same numbers, no calendar."""
    return np.take_along_axis(x, np.argsort(rng.random(x.shape), axis=1), axis=1)


def run(rng: np.random.Generator, quick: bool, progress: Progress, out_dir: Path) -> Section:
    series = temperature_series(rng, 365 * (YEARS_TRAIN + YEARS_TEST))
    split = 365 * YEARS_TRAIN
    mean, std = series[:split].mean(), series[:split].std()
    z = ((series - mean) / std).astype(np.float32)
    train_x, train_y = windows(z[:split])
    test_x, test_y = windows(z[split - WINDOW:])  # the first test target is the day after the split
    shuffled_test_x = shuffle_each(rng, test_x)

    models = {
        MODELS[0]: MLP(WINDOW, HIDDEN, 1, "mse", rng),
        MODELS[1]: MLP(WINDOW, HIDDEN, 1, "mse", rng),
        MODELS[2]: Forecaster(input_size=1, target_index=0, cell="rnn", hidden=HIDDEN, layers=1,
                              bidirectional=False, dropout=0.0, rng=rng, output="level"),
        MODELS[3]: Forecaster(input_size=1, target_index=0, cell="lstm", hidden=HIDDEN, layers=1,
                              bidirectional=False, dropout=0.0, rng=rng, output="level"),
    }

    def predict(name: str) -> np.ndarray:
        model = models[name]
        if name == MODELS[0]:
            return model.forward(shuffled_test_x)[0][:, 0]
        if name == MODELS[1]:
            return model.forward(test_x)[0][:, 0]
        return model.predict(test_x[:, :, None])

    def rmse_celsius(pred: np.ndarray) -> float:
        return float(np.sqrt(np.mean((pred - test_y) ** 2)) * std)

    def batch_for(name: str):
        def draw():
            rows = rng.integers(len(train_x), size=BATCH)
            x, y = train_x[rows], train_y[rows]
            if name == MODELS[0]:
                return shuffle_each(rng, x), y
            return (x, y) if name == MODELS[1] else WindowBatch(x[:, :, None], y)
        return draw

    n = steps(quick)
    curves = {name: train_steps(model, batch_for(name), n, progress, optimizer=Adam(LR), every=max(n // 10, 1),
                        evaluate=lambda name=name: rmse_celsius(predict(name)))
              for name, model in models.items()}
    rmse = {"persistence (tomorrow = today)": rmse_celsius(test_x[:, -1])}
    rmse.update({name: curves[name].final for name in MODELS})
    predictions = {name: predict(name) * std + mean for name in (MODELS[0], MODELS[2], MODELS[3])}

    figure = out_dir / "s7_weather.png"
    tour_figures_memory.weather(figure, test_y * std + mean, predictions, rmse, days=90)
    key = {"persistence (tomorrow = today)": "persistence", MODELS[0]: "mlp_shuffled", MODELS[1]: "mlp_ordered",
           MODELS[2]: "rnn", MODELS[3]: "lstm"}
    numbers = {f"{key[name]}_rmse_celsius": value for name, value in rmse.items()}
    numbers.update(train_steps=n, test_days=len(test_y))
    best_recurrent = min(numbers["rnn_rmse_celsius"], numbers["lstm_rmse_celsius"])
    return Section(
        key="s7_weather", title="7. Weather: yesterday, today, tomorrow",
        claim="To forecast tomorrow the order of the past days matters: an MLP given the recent "
              "temperatures without their order does worse than an RNN or LSTM that reads them "
              "day by day.",
        setup=f"Generated daily temperature, seasonal cycle plus AR(2) weather; window of {WINDOW} "
              f"days -> tomorrow; {YEARS_TRAIN} years train, the following {YEARS_TEST} test "
              f"({len(test_y)} days). MLP {WINDOW}-{HIDDEN}-1 (tanh), RNN and LSTM H = {HIDDEN}; "
              f"{n} Adam steps of {BATCH} windows each; error in degrees C on the test years.",
        result="Test RMSE: " + ", ".join(f"{name} {value:.2f} C" for name, value in rmse.items()) + ".",
        check=f"the RNN or LSTM beats the MLP on the shuffled window by at least {MIN_LEAD_CELSIUS:g} C "
              "and beats persistence",
        holds=bool(best_recurrent + MIN_LEAD_CELSIUS <= numbers["mlp_shuffled_rmse_celsius"]
                   and best_recurrent < numbers["persistence_rmse_celsius"]),
        numbers=numbers, figures=[figure],
    )
