namespace Turn.Hosting;

internal sealed record TcpOptions
{
    public int MaxConnections { get; init; } = 10000;

    public int IdleTimeoutSeconds { get; init; } = 300;

    public int HandshakeTimeoutSeconds { get; init; } = 10;
}
