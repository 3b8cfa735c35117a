"""Download a song's audio with yt-dlp (used by ``predict.py --youtube``).

yt-dlp is imported only when a download is asked for: it is large and most runs
never need it. Only the best audio stream is fetched as the site serves it (m4a,
webm/opus); there is no post-processing, so nothing beyond ffmpeg is needed to
decode the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from unmix.errors import AudioError

logger = logging.getLogger(__name__)

Downloader = Callable[[str, Path], Path]
_MAX_REASON = 160


def check_url(url: str) -> str:
    """``url``, when it is a web link (http or https, or no scheme; a dotted host) that a download can be tried on.

    Raises:
        AudioError: one line naming ``url`` and the form expected; checked before any
            download, so a typo is never reported as a network problem.
    """
    text = url.strip()
    parsed = urlparse(text if "://" in text else "https://" + text)  # "www.youtube.com/watch?v=…" is a link too
    if parsed.scheme not in ("http", "https") or "." not in parsed.netloc or any(c.isspace() for c in text):
        raise AudioError(f"{url!r} is not a YouTube URL: {_EXAMPLES}")
    missing = _missing_video(parsed.hostname or "", parsed.path, parse_qs(parsed.query))
    if missing:
        raise AudioError(f"{url!r} is a malformed YouTube URL: {missing}; {_EXAMPLES}")
    return url


_EXAMPLES = "give a link such as https://www.youtube.com/watch?v=<id> or https://youtu.be/<id>"


def _missing_video(host: str, path: str, query: dict[str, list[str]]) -> str | None:
    """What a YouTube link lacks to name a video (``watch?v=`` with no id, ``youtu.be/``), or None.

    yt-dlp would try such a link as a web page and fail with a network-looking error. Links of
    other sites, and YouTube's other pages (channels, playlists), are left to yt-dlp.
    """
    host = host.lower().removeprefix("www.").removeprefix("m.").removeprefix("music.")
    if host == "youtu.be" and not path.strip("/"):
        return "it names no video after youtu.be/"
    if host == "youtube.com" and path.rstrip("/") == "/watch" and not any(value.strip() for value in query.get("v", [])):
        return "its v= names no video"
    return None


class _YtDlpLogger:
    """Routes yt-dlp's messages to logging instead of its own stderr printing."""

    def debug(self, message: str) -> None:
        logger.debug("yt-dlp: %s", message)

    def info(self, message: str) -> None:
        logger.debug("yt-dlp: %s", message)

    def warning(self, message: str) -> None:
        logger.debug("yt-dlp warning: %s", message)

    def error(self, message: str) -> None:
        logger.debug("yt-dlp error: %s", message)


def _yt_dlp_download(url: str, directory: Path) -> Path:
    import yt_dlp  # lazily: only --youtube needs it

    options = {
        "format": "bestaudio/best",
        "outtmpl": str(directory / "%(title).150B [%(id)s].%(ext)s"),
        "noplaylist": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": _YtDlpLogger(),
    }
    with yt_dlp.YoutubeDL(options) as client:
        details = client.extract_info(url, download=True)
        downloads = details.get("requested_downloads") or []
        if downloads and downloads[0].get("filepath"):
            return Path(downloads[0]["filepath"])
        return Path(client.prepare_filename(details))


def _short_reason(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    first = text.splitlines()[0].removeprefix("ERROR:").strip()
    return first if len(first) <= _MAX_REASON else first[: _MAX_REASON - 3] + "..."


def download(url: str, directory: Path, *, downloader: Downloader | None = None) -> Path:
    """Download the audio of `url` into `directory`.

    Args:
        url: a page yt-dlp understands (YouTube and many others).
        directory: where the file goes; created when missing.
        downloader: `(url, directory) -> path` doing the download; default yt-dlp.
            Tests inject a fake one.

    Returns:
        Path of the downloaded audio file (its extension is whatever the site served).

    Raises:
        AudioError: one line, when ``url`` is not a web link, the download fails (no network,
            unknown video, ...) or produced no file.
    """
    check_url(url)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fetch = downloader or _yt_dlp_download
    try:
        path = Path(fetch(url, directory))
    except AudioError:
        raise
    except Exception as error:  # any failure of the third-party downloader is one line for the user
        reason = _short_reason(error)
        # yt-dlp names a link it cannot handle ("Unsupported URL: ..."): the network is not the problem then.
        unsupported = any(words in reason.lower() for words in ("unsupported url", "not a valid url"))
        hint = "give the link of a YouTube video" if unsupported else "check your network connection"
        raise AudioError(f"could not download {url}: {reason}; {hint}") from error
    if not path.is_file():
        raise AudioError(f"could not download {url}: the downloader reported {path}, which does not exist")
    logger.info("downloaded %s to %s", url, path)
    return path
