"""``territory bench``: our pages and computations against the naive way (not installed).

The folder sits beside ``src/``, outside the installed package: ``territory bench`` loads
it from the checkout. It holds

- :mod:`bench.map_page`: the map page (payload, rerun, first paint, smoothness) at each
  scale, and :func:`bench.map_page.run` / :func:`bench.map_page.table`, the whole bench;
- :mod:`bench.contacts`: a contact export → stored rows → protected density;
- :mod:`bench.priorities`: indicators and ranking, cold and after a change of weights;
- :mod:`bench.planning`: the weekly round planner within budget against a long search
  (synthetic weeks, and a département-wide programme with team sectors);
- :mod:`bench.compare`: the steering committee's comparison of 12 hubs on the 1 M-contact
  département demo, first and warm (a rerun of the « Comparer » page);
- :mod:`bench.week`: the whole week plan (``plan_week``) end to end on a département-wide
  programme of the département demo, per stage, first and warm call;
- :mod:`bench.copil`: the steering committee's outputs on twelve territories (the
  « Comparer » page's rerun, the A4 PDF pack, the XLSX);
- :mod:`bench.package`: the evaluation package (``territory export package``) of a
  département, cold and warm, against the shareable file alone;
- :mod:`bench.roads`: travel-time matrices on a département-sized road network against the
  straight-line model;
- :mod:`bench.hotspots`: Gi* and local Moran on 10,000 protected cells against PySAL esda,
  E2SFCA accessibility for 35,000 communes × 5,000 partners against a dense matrix;
- :mod:`bench.load`: twenty real Streamlit sessions at once over the app's own websocket
  protocol (browse, filter, edit and save one week) — rerun p95, errors, lost edits
  (``python -m bench.load WORKSPACE``, ten minutes: not part of the whole bench);
- :mod:`bench.access_roads`: the same E2SFCA along a département-sized road network (one
  cut-off Dijkstra search per partner), against the way before;
- :mod:`bench.smoothness`: pan and zoom frame timings in Chromium (its frame probe in
  ``smoothness_probe.js``);
- :mod:`bench._browser` (a Streamlit server, headless Chromium) and :mod:`bench._common`
  (spawned measurements, peak memory), the helpers.

It may import anything of ``territory``, streamlit and playwright (the only place besides
the tests that imports playwright); ``map_page`` imports the other modules, never the
reverse, and the helpers import no other bench module.
"""
