namespace Turn.Server;

/// <summary>Whether the server is draining: new allocations are turned away, existing ones go on.</summary>
internal sealed class DrainSwitch
{
    private volatile bool _on;

    public bool On
    {
        get => _on;
        set => _on = value;
    }
}
