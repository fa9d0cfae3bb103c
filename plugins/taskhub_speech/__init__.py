"""taskhub's speech-to-text plugin (``task=speech``), registered through the ``taskhub`` entry point.

CTC models (crnn, lstm, cnn, wav2vec2) over characters or BPE pieces, trained on generated
keypad-tone sequences by default, or on manifests, LibriSpeech, LJSpeech or FSDD folders.
"""
from __future__ import annotations

from collections.abc import Callable

import taskhub


@taskhub.hookimpl
def register_tasks(register: Callable[..., None]) -> None:
    # By import path: listing plugins imports neither the task module nor torch.
    register("taskhub_speech.task:SpeechTask", name="speech", configs="taskhub_speech.configs",
             metrics=("wer", "cer"), objective=("val/wer", "min"))
