"""MQTT adapters: connecting paho clients the one way every role needs, and the embedded broker."""
