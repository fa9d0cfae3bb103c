"""taskhub's speech-to-text plugin (``task=speech``), registered through the ``taskhub`` entry point.

CTC models (crnn, lstm, cnn, wav2vec2) over characters or BPE pieces, trained on generated
keypad-tone sequences by default, or on manifests, LibriSpeech, LJSpeech or FSDD folders.
"""
from __future__ import annotations

import taskhub


@taskhub.hookimpl
def register_tasks(register):
    from taskhub_speech.task import SpeechTask

    register(SpeechTask)


@taskhub.hookimpl
def config_package(task):
    return "taskhub_speech.configs" if task == "speech" else None
