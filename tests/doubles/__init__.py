"""Test doubles for Azure services that the local emulators do not implement.

``immutable_blob_proxy`` puts Azure Blob Storage's immutability (WORM) and legal-hold rules in
front of Azurite, which has none of them; ``worm_rules`` holds those rules as pure decisions.
"""
