"""Import from URL: fetch a public http(s) file, then exactly the upload pipeline."""

from __future__ import annotations

from dataclasses import replace

from assetlens import media
from assetlens.config import Settings
from assetlens.domain import Source
from assetlens.errors import UnsupportedMediaType
from assetlens.services.asset_inputs import UploadForm, client_generation
from assetlens.services.assets import AssetService, Submitted
from assetlens.urlfetch import UrlFetcher


class UrlImportService:
    def __init__(self, settings: Settings, assets: AssetService, fetcher: UrlFetcher) -> None:
        self._settings = settings
        self._assets = assets
        self._fetcher = fetcher

    def import_url(self, workspace: str, url: str, form: UploadForm) -> Submitted:
        """Download `url` (SSRF-safe, see assetlens.urlfetch) and submit it as an upload
        with `form` (the duplicate policy included); the asset's source is `url`. What the
        upload would refuse anyway (bad metadata, a missing folder, a file type not
        allowed) is refused before the body is read."""
        client_generation(form.prompt, form.metadata)
        if form.folder_id:
            self._assets.folders.require(workspace, form.folder_id)
        spooled = self._fetcher.fetch(url, self._limit_for)
        try:
            return self._assets.submit(workspace, spooled, replace(form, source=Source.URL))
        finally:
            spooled.discard()

    def _limit_for(self, filename: str) -> int:
        """The byte cap for a download named `filename`: its type's upload limit."""
        found = media.classify_extension(filename)
        if found is None:
            raise UnsupportedMediaType(
                "the URL's file type is not allowed; allowed extensions: "
                f"{', '.join(sorted(media.ALLOWED_EXTENSIONS))}"
            )
        return self._settings.max_bytes_for(found[0].value)
