namespace Turn.Relay;

/// <summary>The client transport a request arrived on.</summary>
internal enum TransportProtocol
{
    Udp,
    Tcp,
    Tls,
}
