var SIZES = {"200m": 200, "1km": 1000}, RANKS = {"1km": 1, "200m": 2};
var powers = [new Float64Array(G ? G.d + 1 : 0), new Float64Array(G ? G.d + 1 : 0)];
// Longitude and latitude of the EPSG:3035 point (e, n), written at out[at], out[at + 1].
var corner = function (e, n, out, at) {
    var x = (e - G.o[0]) / G.o[2], y = (n - G.o[1]) / G.o[2], px = powers[0], py = powers[1];
    var lon = 0, lat = 0, t = 0, i, j, m;
    px[0] = py[0] = 1;
    for (i = 1; i <= G.d; i++) { px[i] = px[i - 1] * x; py[i] = py[i - 1] * y; }
    for (i = 0; i <= G.d; i++) {
        for (j = 0; i + j <= G.d; j++, t++) {
            m = px[i] * py[j];
            lon += G.x[t] * m;
            lat += G.y[t] * m;
        }
    }
    out[at] = lon;
    out[at + 1] = lat;
};
var zone = function (id, entry) {
    var p = {zone: id};
    for (var key in entry) { p[key] = entry[key]; }
    return p;
};
var features = X, e = 0, n = 0, c = 0, r, f, i;
for (r = 0; r < K.length; r += 2) {
    c += K[r + 1];
    f = C.features[c];
    features.push({type: "Feature", properties: zone(f.properties.code, P[K[r]]),
        geometry: f.geometry});
}
var rank = function (f) { return RANKS[f.properties.level] || 0; };
features.sort(function (f, g) { return rank(f) - rank(g); });
var count = R.length / 3, kind = new Int32Array(count), east = new Int32Array(count),
    north = new Int32Array(count), lonlat = new Float64Array(8 * count);
for (i = 0; i < count; i++) {
    var s = SIZES[P[R[3 * i]].level];
    kind[i] = R[3 * i];
    east[i] = e += R[3 * i + 1];
    north[i] = n += R[3 * i + 2];
    // Corners (E + s, N), (E + s, N + s), (E, N + s), (E, N): counter-clockwise.
    corner(e * 200 + s, n * 200, lonlat, 8 * i);
    corner(e * 200 + s, n * 200 + s, lonlat, 8 * i + 2);
    corner(e * 200, n * 200 + s, lonlat, 8 * i + 4);
    corner(e * 200, n * 200, lonlat, 8 * i + 6);
}
var feature = function (i) {
    var s = SIZES[P[kind[i]].level], E = east[i] * 200, N = north[i] * 200, ring = [];
    for (var k = 0; k <= 8; k += 2) {  // closed: the first corner again
        ring.push([lonlat[8 * i + k % 8], lonlat[8 * i + k % 8 + 1]]);
    }
    return {type: "Feature", properties: zone("CRS3035RES" + s + "mN" + N + "E" + E, P[kind[i]]),
        geometry: {type: "Polygon", coordinates: [ring]}};
};
return {type: "FeatureCollection", features: features, squares: count ? {n: count, table: P,
    kind: kind, east: east, north: north, lonlat: lonlat, feature: feature} : null};
