namespace Turn.Signal;

/// <summary>One entry of an RTCConfiguration's iceServers.</summary>
public sealed record IceServer(IReadOnlyList<string> Urls, string? Username, string? Credential);
