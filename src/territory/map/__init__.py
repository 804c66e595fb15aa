"""The folium map: layers in, ``folium.Map`` out."""
