namespace Turn.Tests.Server;

/// <summary>What a 401 or 438 told the client (RFC 8489 §9.2.4): the realm, the nonce and the offered PASSWORD-ALGORITHMS, raw.</summary>
internal sealed record TurnChallenge(string Realm, byte[] Nonce, byte[] PasswordAlgorithms);
