"""Authoring tools: what builds the course, never what a learner imports.

- :mod:`course_utils.authoring.slides`: the reveal.js slide decks (``make slides``);
- :mod:`course_utils.authoring.runner`: executing notebooks headless (``make course``).

The ``course-utils`` command reaches them; a notebook never does, so their dependencies
(nbclient, Playwright...) are not needed by a learner's install.
"""
