"""Wire helpers shared by every datatype's HTTP face, independent of any one datatype.

``bodies`` (request bodies: size limits, transfer compression), ``formats`` (image
encodings of cutouts), ``url_geometry`` (DVID's ``x_y_z`` and ndstore's ``x0,x1`` URL
geometry, converted to ``(z, y, x)`` boxes once, here), ``block_stream`` (DVID's block
stream bodies), ``ndstore_bodies`` (ndstore cutout encoders and POST decoders),
``offload`` (whether a route's store work runs on the event loop or in a thread) and
``context`` (the typed context an instance route receives).
"""
