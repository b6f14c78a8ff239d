namespace Turn.Server;

/// <summary>What the request handlers need to know of the configuration, resolved once at start.</summary>
/// <param name="Software">SOFTWARE attribute value, or empty to send none.</param>
/// <param name="NatBehavior">The RFC 5780 address grid when a second address is configured.</param>
internal sealed record StunServerSettings(string Software, NatBehaviorAddresses? NatBehavior);
