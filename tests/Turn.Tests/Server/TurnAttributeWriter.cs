using Turn.Wire;

namespace Turn.Tests.Server;

/// <summary>Adds a request's own attributes (before the credentials) to a message being written.</summary>
internal delegate void TurnAttributeWriter(ref StunWriter writer);
