namespace Turn.Configuration;

internal sealed record TurnOptions
{
    /// <summary>SOFTWARE attribute sent in responses (RFC 8489 §14.14); empty sends none.</summary>
    public string Software { get; init; } = "turn";

    public ListenOptions Listen { get; init; } = new();

    public TlsOptions Tls { get; init; } = new();

    public Rfc5780Options Rfc5780 { get; init; } = new();

    public TcpOptions Tcp { get; init; } = new();

    public AuthOptions Auth { get; init; } = new();

    public RelayOptions Relay { get; init; } = new();

    public HttpOptions Http { get; init; } = new();

    public Turn.Signal.SignalOptions Signal { get; init; } = new();

    public IceOptions Ice { get; init; } = new();

    public MetricsOptions Metrics { get; init; } = new();

    public AdminOptions Admin { get; init; } = new();

    public DrainOptions Drain { get; init; } = new();
}
