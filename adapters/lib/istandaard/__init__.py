"""iStandaarden-style messages (iWmo/iJw, iEb, iPgb): one ``Bericht`` root per message in the
namespace ``http://www.istandaarden.nl/<standard>/<r>_<r>/<code>/schema``. ``codec.py`` turns
XML into canonical dicts and back on our XSDs; ``messages.py`` describes a message of a
catalogue (namespace, schema, identification) and the helpers every such standard needs."""
