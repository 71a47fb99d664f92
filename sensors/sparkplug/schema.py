"""The Sparkplug B payload (Eclipse Tahu ``sparkplug_b.proto``, package
``org.eclipse.tahu.protobuf``) as protobuf messages, declared here field by field
instead of generated code: Payload {timestamp 1, metrics 2, seq 3, uuid 4, body 5}
and Metric {name 1, alias 2, timestamp 3, datatype 4, is_historical 5,
is_transient 6, is_null 7, value oneof int 10, long 11, float 12, double 13,
boolean 14, string 15, bytes 16}. Fields not declared (metadata, properties,
DataSet, Template) are skipped by the protobuf parser.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "org.eclipse.tahu.protobuf"
_F = descriptor_pb2.FieldDescriptorProto
_METRIC_FIELDS = (
    ("name", 1, _F.TYPE_STRING),
    ("alias", 2, _F.TYPE_UINT64),
    ("timestamp", 3, _F.TYPE_UINT64),
    ("datatype", 4, _F.TYPE_UINT32),
    ("is_historical", 5, _F.TYPE_BOOL),
    ("is_transient", 6, _F.TYPE_BOOL),
    ("is_null", 7, _F.TYPE_BOOL),
)
_VALUE_FIELDS = (
    ("int_value", 10, _F.TYPE_UINT32),
    ("long_value", 11, _F.TYPE_UINT64),
    ("float_value", 12, _F.TYPE_FLOAT),
    ("double_value", 13, _F.TYPE_DOUBLE),
    ("boolean_value", 14, _F.TYPE_BOOL),
    ("string_value", 15, _F.TYPE_STRING),
    ("bytes_value", 16, _F.TYPE_BYTES),
)
_PAYLOAD_FIELDS = (
    ("timestamp", 1, _F.TYPE_UINT64),
    ("seq", 3, _F.TYPE_UINT64),
    ("uuid", 4, _F.TYPE_STRING),
    ("body", 5, _F.TYPE_BYTES),
)


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="gatewatch/sparkplug_b.proto", package=PACKAGE, syntax="proto2"
    )
    payload = proto.message_type.add(name="Payload")
    for name, number, kind in _PAYLOAD_FIELDS:
        payload.field.add(name=name, number=number, type=kind, label=_F.LABEL_OPTIONAL)
    payload.field.add(
        name="metrics",
        number=2,
        type=_F.TYPE_MESSAGE,
        type_name=f".{PACKAGE}.Payload.Metric",
        label=_F.LABEL_REPEATED,
    )
    metric = payload.nested_type.add(name="Metric")
    for name, number, kind in _METRIC_FIELDS:
        metric.field.add(name=name, number=number, type=kind, label=_F.LABEL_OPTIONAL)
    metric.oneof_decl.add(name="value")
    for name, number, kind in _VALUE_FIELDS:
        metric.field.add(
            name=name, number=number, type=kind, label=_F.LABEL_OPTIONAL, oneof_index=0
        )
    return proto


def _payload_class() -> Any:
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_file())
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.Payload"))


Payload: Any = _payload_class()  # Payload.FromString(bytes); Payload() to build one
