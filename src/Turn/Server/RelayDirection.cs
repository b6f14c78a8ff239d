namespace Turn.Server;

/// <summary>Which way relayed data went.</summary>
internal enum RelayDirection
{
    ToPeer,
    ToClient,
}
