"""DVID's protobuf messages, built at import time from descriptors of our own.

DVID's ``.proto`` files are not copied: a datatype declares each message with DVID's
field names, numbers and types through :class:`ProtoFile`, so the wire bytes are DVID's,
and gets message classes from a descriptor pool of its own (no clash with any other user
of the protobuf runtime). :func:`parse_message` turns a body into a message or a 400
naming what it should have been.

The ``protobuf`` package comes with the ``server`` extra: only routes import this module.
"""

from __future__ import annotations

from typing import Any

from voxhub.errors import InvalidRequest
from voxhub.optional import require

_PURPOSE = "DVID's protobuf bodies"
_pb = require("google.protobuf.descriptor_pb2", _PURPOSE)
_pool_mod = require("google.protobuf.descriptor_pool", _PURPOSE)
_factory = require("google.protobuf.message_factory", _PURPOSE)
_message = require("google.protobuf.message", _PURPOSE)

#: field types and labels (``FIELD.TYPE_UINT64``, ``FIELD.TYPE_MESSAGE``, ...)
FIELD = _pb.FieldDescriptorProto


class ProtoFile:
    """One proto3 file of messages under ``package``."""

    def __init__(self, name: str, package: str) -> None:
        self.package = package
        self._file = _pb.FileDescriptorProto(name=name, package=package, syntax="proto3")

    def message(self, name: str) -> Any:
        """A new message (add its fields with :meth:`field` and :meth:`map`)."""
        return self._file.message_type.add(name=name)

    def field(self, msg: Any, name: str, number: int, kind: int, *, many: bool = False,
              type_name: str = "") -> None:  # fmt: skip
        """A field of ``msg``; ``type_name`` names a message of this file."""
        label = FIELD.LABEL_REPEATED if many else FIELD.LABEL_OPTIONAL
        field = msg.field.add(name=name, number=number, type=kind, label=label)
        if type_name:
            field.type_name = f".{self.package}.{type_name}"

    def map(self, msg: Any, name: str, number: int, key: int, value: int,
            value_type: str = "") -> None:  # fmt: skip
        """A ``map<key, value>`` field of ``msg`` (proto3's nested entry message)."""
        entry = msg.nested_type.add(name=name.capitalize() + "Entry")
        entry.options.map_entry = True
        self.field(entry, "key", 1, key)
        self.field(entry, "value", 2, value, type_name=value_type)
        self.field(msg, name, number, FIELD.TYPE_MESSAGE, many=True,
                   type_name=f"{msg.name}.{entry.name}")  # fmt: skip

    def classes(self) -> dict[str, Any]:
        """The message classes of every top-level message, by name."""
        pool = _pool_mod.DescriptorPool()
        pool.Add(self._file)
        find = pool.FindMessageTypeByName
        names = [m.name for m in self._file.message_type]
        return {n: _factory.GetMessageClass(find(f"{self.package}.{n}")) for n in names}


def parse_message(cls: Any, data: bytes | memoryview, what: str) -> Any:
    """``data`` parsed as a message of class ``cls``; a 400 naming ``what`` if it is not."""
    msg = cls()
    try:
        msg.ParseFromString(bytes(data))
    except _message.DecodeError as e:
        raise InvalidRequest(f"{what} is not a protobuf {cls.DESCRIPTOR.name}: {e}") from None
    return msg
