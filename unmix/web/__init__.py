"""A local web page for separating songs: upload, watch the progress, listen, download.

``python3 -m unmix.web`` (or ``unmix-serve``) serves it on http://127.0.0.1:8000/. The pieces,
each with one job: ``jobs`` (the job folders and their recovery after a restart), ``uploads``
(a multipart body streamed to disk up to a limit), ``validation`` (is it audio, a safe display
name), ``worker`` (one background thread separating the queue), ``preview`` (the spectrogram
picture), ``app`` (the FastAPI routes) and ``serve`` (the command line). Nothing here loads
TensorFlow until the first job runs.
"""
