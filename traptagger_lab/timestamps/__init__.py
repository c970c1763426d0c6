"""Timestamp repair from the date/time strip cameras print on their photos (issue 20).

- :mod:`.strip`: finding the strip at the top or bottom of a photo, ready for OCR (pure);
- :mod:`.formats`: a date and a time out of OCR text; each camera's date order (pure);
- :mod:`.ocr`: tesseract over many strips at once (the ``ocr`` extra, Debian's
  ``tesseract-ocr``);
- :mod:`.offsets`: strip-minus-EXIF differences -> offsets, clock jumps (pure);
- :mod:`.review`: per-photo table and per-camera report of proposals (pure);
- :mod:`.repair`: the survey-level verbs: review, apply, enter times by hand.

Importing this package loads none of them (nor pytesseract).
"""
