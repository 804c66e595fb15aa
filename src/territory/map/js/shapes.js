// Features of a canvas layer as one shape: see _SHAPES_JS in maps.py.
var Shapes = L.Path.extend({
    initialize: function (data, options) {
        L.setOptions(this, options);
        this._data = data;
        this._at = -1;  // the feature under the mouse at the last hit test
        this._shown = -1;  // the feature of the last "mouseover"
        this._lit = -1;  // the highlighted feature
        var base = data.circles ? L.CircleMarker.prototype.options : L.Polygon.prototype.options;
        var paints = [], keys = [], fills = [], group = new Int32Array(data.n), i;
        var cache = data.table ? [] : null;  // squares: one style per property set
        for (i = 0; i < data.n; i++) {
            var t = cache ? data.kind[i] : -1;
            if (cache && cache[t] !== undefined) { group[i] = cache[t]; continue; }
            var o = L.extend({}, base, {fillRule: data.fillRule || "evenodd"},
                             options.style(data.feature(i, true)));
            if (fills.indexOf(o.fillColor) < 0) { fills.push(o.fillColor); }
            var key = [fills.indexOf(o.fillColor), o.fillOpacity, o.fill, o.color, o.weight,
                       o.opacity, o.stroke, o.dashArray, o.radius].join("|");
            group[i] = keys.indexOf(key);
            if (group[i] < 0) {
                group[i] = keys.push(key) - 1;
                paints.push(this._paint(o));
            }
            if (cache) { cache[t] = group[i]; }
        }
        // Drawing order: a coverage by level (the data's order), then style; a run is
        // one style of one level. Anything else feature by feature, in order.
        var n = data.n, run = -1;
        this._sequence = new Int32Array(n);
        this._runs = [];  // [first, end, paint] in this._sequence
        if (data.sorted) {
            var sort = new Float64Array(n);
            for (i = 0; i < n; i++) {
                sort[i] = ((data.level ? data.level[i] : 0) * paints.length + group[i]) * n + i;
            }
            sort.sort();
            for (i = 0; i < n; i++) {
                this._sequence[i] = sort[i] % n;
                if (Math.floor(sort[i] / n) !== run) {
                    run = Math.floor(sort[i] / n);
                    this._runs.push(i, i, run % paints.length);
                }
                this._runs[this._runs.length - 2] = i + 1;
            }
        } else {
            for (i = 0; i < n; i++) {
                this._sequence[i] = i;
                this._runs.push(i, i + 1, group[i]);
            }
        }
        this._paints = paints;
        this._group = group;  // paint of each feature
        // Thinned points (options.thin, in pixels): at each zoom, one point per cell of
        // that size, the one of highest options.weight; the others are neither drawn nor
        // hit. From options.thinUntil on, every point is shown.
        if (options.thin && data.circles) {
            var weights = new Float64Array(n);
            this._thinOrder = new Int32Array(n);
            for (i = 0; i < n; i++) {
                weights[i] = options.weight ? options.weight(data.feature(i, true).properties) : 0;
                this._thinOrder[i] = i;
            }
            this._thinOrder.sort(function (a, b) { return weights[b] - weights[a] || a - b; });
            this._hidden = new Uint8Array(n);
        }
        this.on("mousemove", function (e) {
            if (this._at >= 0 && this._at !== this._shown) {
                this.fire("mouseout", e, true);
                this.fire("mouseover", e, true);
            }
        });
        this.on("mouseover", function () { this._shown = this._at; });
        this.on("mouseout", function () { this._shown = -1; });
    },
    // What the canvas renderer's _fillStroke reads, for a style.
    _paint: function (style) {
        var paint = {options: style};
        L.Canvas.prototype._updateDashArray(paint);
        return paint;
    },
    _project: function () {
        var map = this._map, crs = map.options.crs, d = this._data, m = this._m, i, j;
        var points = d.lonlat.length / 2;
        if (!m) {
            m = this._m = new Float64Array(2 * points);
            var ll = d.lonlat, P = crs.projection;
            if (P === L.Projection.SphericalMercator) {  // P.project, without an object a point
                var rad = Math.PI / 180, max = P.MAX_LATITUDE;
                for (i = 0; i < 2 * points; i += 2) {
                    var sin = Math.sin(Math.max(Math.min(max, ll[i + 1]), -max) * rad);
                    m[i] = P.R * ll[i] * rad;
                    m[i + 1] = P.R * Math.log((1 + sin) / (1 - sin)) / 2;
                }
            } else {
                for (i = 0; i < 2 * points; i += 2) {
                    var q = P.project(L.latLng(ll[i + 1], ll[i]));
                    m[i] = q.x;
                    m[i + 1] = q.y;
                }
            }
        }
        // Projected metres to pixels of the map's layer: an affine map (L.Transformation).
        var scale = crs.scale(map.getZoom()), origin = map.getPixelOrigin();
        var p0 = crs.transformation.transform(L.point(0, 0), scale);
        var p1 = crs.transformation.transform(L.point(1, 1), scale);
        var a = this._affine = [p0.x - origin.x, p0.y - origin.y, p1.x - p0.x, p1.y - p0.y];
        var px = this._px = this._px || new Float64Array(2 * points);
        for (i = 0; i < 2 * points; i += 2) {  // rounded like map.latLngToLayerPoint
            px[i] = Math.round(p0.x + a[2] * m[i]) - origin.x;
            px[i + 1] = Math.round(p0.y + a[3] * m[i + 1]) - origin.y;
        }
        // Pixel box of each feature, with room for its outline (and radius).
        var box = this._box = this._box || new Float64Array(4 * d.n);
        var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        for (i = 0; i < d.n; i++) {
            var o = this._paints[this._group[i]].options;
            var pad = (o.stroke ? o.weight / 2 : 0) + 1 + (d.circles ? o.radius : 0)
                + (this.options.edge || 0);
            var bx0 = Infinity, by0 = Infinity, bx1 = -Infinity, by1 = -Infinity;
            for (j = 2 * d.start[d.first[i]]; j < 2 * d.start[d.first[i + 1]]; j += 2) {
                bx0 = Math.min(bx0, px[j]); bx1 = Math.max(bx1, px[j]);
                by0 = Math.min(by0, px[j + 1]); by1 = Math.max(by1, px[j + 1]);
            }
            box[4 * i] = bx0 - pad; box[4 * i + 1] = by0 - pad;
            box[4 * i + 2] = bx1 + pad; box[4 * i + 3] = by1 + pad;
            x0 = Math.min(x0, box[4 * i]); x1 = Math.max(x1, box[4 * i + 2]);
            y0 = Math.min(y0, box[4 * i + 1]); y1 = Math.max(y1, box[4 * i + 3]);
        }
        this._pxBounds = x0 <= x1 ? L.bounds([x0, y0], [x1, y1]) : null;
        if (this._hidden) { this._thin(); }
    },
    // Which points stay shown at this zoom (see initialize).
    _thin: function () {
        var hidden = this._hidden, order = this._thinOrder, px = this._px, d = this._data;
        var cell = this.options.thin, taken = new Set(), origin = this._map.getPixelOrigin();
        var all = this._map.getZoom() >= (this.options.thinUntil || Infinity);
        for (var r = 0; r < order.length; r++) {
            var i = order[r], k = 2 * d.start[d.first[i]];
            var key = Math.floor((px[k] + origin.x) / cell) + ":"
                + Math.floor((px[k + 1] + origin.y) / cell);
            hidden[i] = !all && taken.has(key) ? 1 : 0;
            taken.add(key);
        }
    },
    _update: function () {
        if (this._map) { this._updatePath(); }
    },
    onRemove: function (map) {  // switched off: no feature stays hovered or outlined
        this._at = this._shown = this._lit = -1;
        L.Path.prototype.onRemove.call(this, map);
    },
    // Whether feature i (its pixel box) meets `bounds`.
    _meets: function (i, bounds) {
        var b = this._box, k = 4 * i;
        return b[k + 2] >= bounds.min.x && b[k] <= bounds.max.x
            && b[k + 3] >= bounds.min.y && b[k + 1] <= bounds.max.y;
    },
    // Feature i as subpaths, each ring closed by a line back to its first point:
    // closePath() takes time in the size of the whole path in Chromium (16,000
    // squares: 1 s). A circle as L.circleMarker draws it.
    _trace: function (ctx, i) {
        var d = this._data, px = this._px, r, k, end;
        if (d.circles) {
            k = 2 * d.start[d.first[i]];
            var radius = Math.max(Math.round(this._paints[this._group[i]].options.radius), 1);
            ctx.moveTo(px[k] + radius, px[k + 1]);
            ctx.arc(px[k], px[k + 1], radius, 0, Math.PI * 2, false);
            return;
        }
        for (r = d.first[i]; r < d.first[i + 1]; r++) {
            k = 2 * d.start[r];
            end = 2 * d.start[r + 1];
            ctx.moveTo(px[k], px[k + 1]);
            for (var j = k + 2; j < end; j += 2) { ctx.lineTo(px[j], px[j + 1]); }
            ctx.lineTo(px[k], px[k + 1]);
        }
    },
    _updatePath: function () {
        var renderer = this._renderer;
        if (!renderer._drawing || !this._px) { return; }
        var ctx = renderer._ctx, bounds = renderer._redrawBounds || renderer._bounds;
        var runs = this._runs, order = this._sequence, r, j, drawn;
        var skip = this._litPaint && this._litPaint.options.fill ? this._lit : -1;
        for (r = 0; r < runs.length; r += 3) {
            drawn = false;
            for (j = runs[r]; j < runs[r + 1]; j++) {
                if (order[j] !== skip && !(this._hidden && this._hidden[order[j]])
                    && this._meets(order[j], bounds)) {
                    if (!drawn) { ctx.beginPath(); }
                    this._trace(ctx, order[j]);
                    drawn = true;
                }
            }
            if (drawn) { renderer._fillStroke(ctx, this._paints[runs[r + 2]]); }
        }
        if (this._lit >= 0 && this._meets(this._lit, bounds)) {
            ctx.beginPath();
            this._trace(ctx, this._lit);
            renderer._fillStroke(ctx, this._litPaint);
        }
    },
    _containsPoint: function (p) {
        if (!this._pxBounds || !this._pxBounds.contains(p)) { return false; }
        var i = this._find(p);
        if (i >= 0 && i !== this._at) {
            this.feature = this._data.feature(i);
            if (this.options.onEachFeature) { this.options.onEachFeature(this.feature, this); }
        }
        this._at = i;
        return i >= 0;
    },
    // The feature (topmost: last in the data) under the pixel p, or -1.
    _find: function (p) {
        var b = this._buckets || this._bucket(), a = this._affine, d = this._data;
        var x = (p.x - a[0]) / a[2], y = (p.y - a[1]) / a[3];  // metres
        // pixels to metres: a circle's radius, or how near its border an outline is hit
        var edge = this.options.edge ? this.options.edge / Math.abs(a[2]) : 0;
        var reach = d.circles ? b.radius / Math.abs(a[2]) : edge;
        var cell = function (v, v0) { return Math.floor((v - v0) / b.size); };
        var best = -1, cx, cy, l;
        for (cy = cell(y - reach, b.y0); cy <= cell(y + reach, b.y0); cy++) {
            for (cx = cell(x - reach, b.x0); cx <= cell(x + reach, b.x0); cx++) {
                var list = b.cells.get(cy * b.nx + cx) || [];
                for (l = list.length - 1; l >= 0 && list[l] > best; l--) {
                    if (this._hidden && this._hidden[list[l]]) { continue; }
                    if (d.circles ? this._onCircle(list[l], p)
                        : (edge ? this._onEdge(list[l], x, y, edge) : this._inside(list[l], x, y))) {
                        best = list[l];
                    }
                }
            }
        }
        return best;
    },
    // Whether pixel p is on circle i (with its outline, as L.circleMarker hit-tests).
    _onCircle: function (i, p) {
        var o = this._paints[this._group[i]].options, k = 2 * this._data.start[this._data.first[i]];
        var dx = p.x - this._px[k], dy = p.y - this._px[k + 1];
        var reach = o.radius + (o.stroke ? o.weight / 2 : 0);
        return dx * dx + dy * dy <= reach * reach;
    },
    // Whether the point (x, y) in metres is within `reach` metres of a ring of feature i
    // (an outline layer, options.edge: only its border takes the mouse).
    _onEdge: function (i, x, y, reach) {
        var d = this._data, m = this._m, r, j, k, end;
        for (r = d.first[i]; r < d.first[i + 1]; r++) {
            k = 2 * d.start[r];
            end = 2 * d.start[r + 1];
            for (j = k; j < end; j += 2) {
                var ax = m[j], ay = m[j + 1], b = j + 2 < end ? j + 2 : k;
                var dx = m[b] - ax, dy = m[b + 1] - ay, l2 = dx * dx + dy * dy;
                var t = l2 ? Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / l2)) : 0;
                var ex = ax + t * dx - x, ey = ay + t * dy - y;
                if (ex * ex + ey * ey <= reach * reach) { return true; }
            }
        }
        return false;
    },
    // Whether the point (x, y) in metres is inside feature i ("evenodd" over its rings).
    _inside: function (i, x, y) {
        var d = this._data, m = this._m, inside = false, r, j, k, end;
        for (r = d.first[i]; r < d.first[i + 1]; r++) {
            k = 2 * d.start[r];
            end = 2 * d.start[r + 1];
            for (j = k; j < end; j += 2) {
                var ax = m[j], ay = m[j + 1], b = j + 2 < end ? j + 2 : k;
                var bx = m[b], by = m[b + 1];
                if ((ay > y) !== (by > y) && x < (bx - ax) * (y - ay) / (by - ay) + ax) {
                    inside = !inside;
                }
            }
        }
        return inside;
    },
    // Features by cell of a grid in metres (about one feature per cell on average).
    _bucket: function () {
        var m = this._m, d = this._data, n = d.n, box = new Float64Array(4 * n), i, j, c;
        var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, radius = 0;
        for (i = 0; i < n; i++) {
            box[4 * i] = box[4 * i + 1] = Infinity;
            box[4 * i + 2] = box[4 * i + 3] = -Infinity;
            for (j = 2 * d.start[d.first[i]]; j < 2 * d.start[d.first[i + 1]]; j += 2) {
                box[4 * i] = Math.min(box[4 * i], m[j]);
                box[4 * i + 1] = Math.min(box[4 * i + 1], m[j + 1]);
                box[4 * i + 2] = Math.max(box[4 * i + 2], m[j]);
                box[4 * i + 3] = Math.max(box[4 * i + 3], m[j + 1]);
            }
            x0 = Math.min(x0, box[4 * i]); y0 = Math.min(y0, box[4 * i + 1]);
            x1 = Math.max(x1, box[4 * i + 2]); y1 = Math.max(y1, box[4 * i + 3]);
            var o = this._paints[this._group[i]].options;
            if (d.circles) { radius = Math.max(radius, o.radius + (o.stroke ? o.weight / 2 : 0)); }
        }
        var size = Math.sqrt((x1 - x0) * (y1 - y0) / n) || (x1 - x0) || 1;
        var b = {size: size, x0: x0, y0: y0, nx: Math.floor((x1 - x0) / size) + 1,
                 cells: new Map(), radius: radius};
        for (i = 0; i < n; i++) {
            if (!(box[4 * i] <= box[4 * i + 2])) { continue; }  // no point
            var cx0 = Math.floor((box[4 * i] - x0) / size);
            var cx1 = Math.floor((box[4 * i + 2] - x0) / size);
            var cy0 = Math.floor((box[4 * i + 1] - y0) / size);
            var cy1 = Math.floor((box[4 * i + 3] - y0) / size);
            for (var cy = cy0; cy <= cy1; cy++) {
                for (c = cx0; c <= cx1; c++) {
                    var list = b.cells.get(cy * b.nx + c);
                    if (list) { list.push(i); } else { b.cells.set(cy * b.nx + c, [i]); }
                }
            }
        }
        return (this._buckets = b);
    },
    // Restyle the feature under the mouse with `style` (null: no feature restyled): an
    // outline drawn above the layer, or, when the style changes the fill, the feature
    // drawn again in that style above the others (its usual drawing left out).
    highlight: function (style) {
        var before = this._lit;
        this._lit = style ? this._shown : -1;
        this._litPaint = null;
        if (style && this._lit >= 0) {
            var own = this._paints[this._group[this._lit]].options;
            var fill = "fillOpacity" in style || "fillColor" in style;
            this._litPaint = this._paint(L.extend({}, own, style, fill ? {} : {fill: false}));
        }
        this._redrawFeature(before);
        this._redrawFeature(this._lit);
        return this;
    },
    // Ask the renderer to redraw around feature i (what it reads of a layer: a box).
    _redrawFeature: function (i) {
        if (i < 0 || !this._map || !this._box) { return; }
        var b = this._box, k = 4 * i;
        this._renderer._requestRedraw({_pxBounds: L.bounds([b[k], b[k + 1]], [b[k + 2], b[k + 3]]),
                                       options: {weight: 3}});
    },
    toGeoJSON: function () { return this.feature; },
    getBounds: function () {
        var ll = this._data.lonlat, bounds = L.latLngBounds([]);
        for (var i = 0; i < ll.length; i += 2) { bounds.extend([ll[i + 1], ll[i]]); }
        return bounds;
    }
});
// The grid squares of a density layer (the "squares" of its collection, see
// _CompactGrid) as a source of Shapes: one ring of four corners each.
var fromSquares = function (squares) {
    var n = squares.n, first = new Int32Array(n + 1), start = new Int32Array(n + 1);
    var level = new Int32Array(n), i;
    for (i = 0; i <= n; i++) { first[i] = i; start[i] = 4 * i; }
    for (i = 1; i < n; i++) {
        var t = squares.table;
        level[i] = level[i - 1] + (t[squares.kind[i]].level !== t[squares.kind[i - 1]].level);
    }
    // Squares of a level never overlap; "nonzero" fills a duplicate only once.
    return {n: n, lonlat: squares.lonlat, first: first, start: start, level: level,
            sorted: true, fillRule: "nonzero", table: squares.table, kind: squares.kind,
            feature: function (i, bare) {
                return bare ? {properties: squares.table[squares.kind[i]]} : squares.feature(i);
            }};
};
// Features as a source of Shapes (`sorted`: they never overlap), or null when they are
// not all (multi)polygons, or all points drawn as circles.
var fromFeatures = function (features, circles, sorted) {
    var rings = 0, points = 0, i, g, p, r;
    var parts = function (g) {
        return g.type === "Polygon" ? [g.coordinates]
            : (g.type === "MultiPolygon" ? g.coordinates : null);
    };
    for (i = 0; i < features.length; i++) {
        g = features[i].geometry;
        if (circles) {
            if (!g || g.type !== "Point") { return null; }
            rings++;
            points++;
            continue;
        }
        var polygons = g && parts(g);
        if (!polygons) { return null; }
        for (p = 0; p < polygons.length; p++) {
            for (r = 0; r < polygons[p].length; r++) {
                rings++;
                points += polygons[p][r].length - 1;  // rings are closed: one point less
            }
        }
    }
    var first = new Int32Array(features.length + 1), start = new Int32Array(rings + 1);
    var lonlat = new Float64Array(2 * points), at = 0, ring = 0;
    for (i = 0; i < features.length; i++) {
        first[i] = ring;
        g = features[i].geometry;
        var list = circles ? [[[g.coordinates, g.coordinates]]] : parts(g);  // a closed ring
        for (p = 0; p < list.length; p++) {
            for (r = 0; r < list[p].length; r++) {
                start[ring++] = at / 2;
                var c = list[p][r];
                for (var k = 0; k < c.length - 1; k++) {
                    lonlat[at++] = c[k][0];
                    lonlat[at++] = c[k][1];
                }
            }
        }
    }
    first[features.length] = ring;
    start[ring] = at / 2;
    return {n: features.length, lonlat: lonlat, first: first, start: start,
            circles: circles, sorted: sorted,
            feature: function (i) { return features[i]; }};
};
// A canvas layer: an L.geoJson group holding one shape of its features (or, when they
// cannot be one shape, the features as Leaflet objects) and one of its grid squares.
var layer = function (data, options) {
    var group = L.geoJson(null, options), features = data.features;
    var source = features.length
        ? fromFeatures(features, !!options.pointToLayer, !!options.coverage) : null;
    if (source) {
        group.addLayer(new Shapes(source, group.options));
    } else if (features.length) {
        group.addData(data);
    }
    if (data.squares) { group.addLayer(new Shapes(fromSquares(data.squares), group.options)); }
    return group;
};
